namespace SemiClip.Synthetic;

/// <summary>Writes RSICD-style captions from a scene description: every caption names the scene's
/// class, and most mention objects with counts, colours and places.</summary>
public static class CaptionWriter
{
    static readonly string[] Numbers =
    {
        "no",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
    };

    public static string CountWord(int n) =>
        n < Numbers.Length ? Numbers[n]
        : n < 20 ? "some"
        : "many";

    static string Phrase(SceneObject o)
    {
        string noun = o.Count == 1 ? o.Noun : o.PluralNoun;
        string colour = o.Colour is null ? "" : o.Colour + " ";
        if (o.Noun == o.PluralNoun)
            return $"{colour}{noun}";
        return o.Count == 1 ? $"a {colour}{noun}" : $"{CountWord(o.Count)} {colour}{noun}";
    }

    static string Article(string word) => "aeiou".Contains(word[0]) ? "an" : "a";

    public static List<string> Write(SceneDescription scene, Random rng, int count, string viewNoun)
    {
        string cls = scene.ClassName;
        var objects = scene.Objects;
        var main = objects[0];
        var captions = new List<string>
        {
            $"{Article(viewNoun)} {viewNoun} of {Article(cls)} {cls}.",
            $"{Article(cls)} {cls} with {Phrase(main)}{(main.Region is null ? "" : " " + main.Region)}.",
            $"{Capitalise(Phrase(main))} {(main.Count == 1 || main.Noun == main.PluralNoun ? "is" : "are")} in this "
                + $"{cls}.",
            $"this {cls} has {string.Join(" and ", objects.Take(3).Select(Phrase))}.",
            $"{Capitalise(scene.Facts[rng.Next(scene.Facts.Count)])} in this {cls}.",
        };
        if (objects.Count > 1)
        {
            var second = objects[1 + rng.Next(objects.Count - 1)];
            captions.Add(
                $"{Article(cls)} {cls} where {Phrase(second)} "
                    + $"{(second.Count == 1 || second.Noun == second.PluralNoun ? "is" : "are")} "
                    + $"{second.Region ?? "visible"}."
            );
        }
        var shuffled = captions.OrderBy(_ => rng.Next()).Take(count).ToList();
        return shuffled;
    }

    static string Capitalise(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}
