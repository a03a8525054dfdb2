namespace SemiClip.Synthetic;

/// <summary>What was drawn in one synthetic image, from which its captions are written.</summary>
public sealed record SceneDescription(
    string ClassName,
    IReadOnlyList<SceneObject> Objects,
    IReadOnlyList<string> Facts
);

/// <summary>A group of drawn objects: a noun, how many, their colour and where they mostly are.</summary>
public sealed record SceneObject(string Noun, string PluralNoun, int Count, string? Colour, string? Region);
