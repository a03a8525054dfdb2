using System.Text;

namespace SemiClip.Data;

/// <summary>Class labels as words: dataset folder names such as <c>DenseResidential</c>,
/// <c>dense_residential</c> or <c>dense-residential</c> become "dense residential".</summary>
public static class ClassNames
{
    public static string Humanise(string label)
    {
        var sb = new StringBuilder(label.Length + 4);
        for (int i = 0; i < label.Length; i++)
        {
            char c = label[i];
            if (c is '_' or '-')
            {
                sb.Append(' ');
                continue;
            }
            bool wordStart =
                i > 0
                && char.IsUpper(c)
                && (
                    char.IsLower(label[i - 1])
                    || i + 1 < label.Length && char.IsLower(label[i + 1]) && char.IsUpper(label[i - 1])
                );
            if (wordStart)
                sb.Append(' ');
            sb.Append(char.ToLowerInvariant(c));
        }
        return string.Join(' ', sb.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }
}
