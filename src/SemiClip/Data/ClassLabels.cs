namespace SemiClip.Data;

/// <summary>Class ids of images whose caption file records a label, and the keyword that names each
/// class (when the keyword list has one). Training never reads them: they feed S-CLIP's pseudo-label
/// diagnostics (is the plan's choice of the same class? do the keyword candidates contain the class?).</summary>
public sealed class ClassLabels
{
    readonly Dictionary<string, int> _classOfImage;
    readonly int[] _keywordOfClass;
    public IReadOnlyList<string> Names { get; }

    ClassLabels(Dictionary<string, int> classOfImage, IReadOnlyList<string> names, int[] keywordOfClass) =>
        (_classOfImage, Names, _keywordOfClass) = (classOfImage, names, keywordOfClass);

    /// <summary>Null when no sample has a label.</summary>
    public static ClassLabels? From(IEnumerable<CaptionSample> samples, KeywordLabeler? keywords)
    {
        var labelled = samples.Where(s => s.Label != null).ToList();
        if (labelled.Count == 0)
            return null;
        var names = labelled
            .Select(s => s.Label!)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();
        var index = names.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i, StringComparer.Ordinal);
        var classOf = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var s in labelled)
            classOf[s.ImagePath] = index[s.Label!];
        var keywordOf = names.Select(n => keywords?.IndexOfClass(n) ?? -1).ToArray();
        return new ClassLabels(classOf, names, keywordOf);
    }

    public long Of(string imagePath) => _classOfImage.TryGetValue(imagePath, out var c) ? c : -1;

    public long KeywordOf(long classId) => classId < 0 ? -1 : _keywordOfClass[classId];
}
