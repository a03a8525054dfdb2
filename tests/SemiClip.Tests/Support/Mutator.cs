using System.Text;

namespace SemiClip.Tests.Support;

/// <summary>Deterministic mutations of a valid input, for fuzzing parsers: bit flips, byte replacements with
/// interesting values, insertions, deletions, duplicated and swapped chunks, and truncation.</summary>
public static class Mutator
{
    static readonly byte[] Interesting = "\0\n\r\t\"',:;{}[]\\#-0123456789eE.+ \u00ff"u8
        .ToArray()
        .Concat(new byte[] { 0x80, 0xc3, 0xff, 0xfe })
        .ToArray();

    public static IEnumerable<byte[]> Variants(byte[] valid, int count, int seed)
    {
        var rng = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            var bytes = new List<byte>(valid);
            int edits = 1 + rng.Next(i % 4 == 0 ? 8 : 2);
            for (int e = 0; e < edits && bytes.Count > 0; e++)
            {
                int at = rng.Next(bytes.Count);
                switch (rng.Next(7))
                {
                    case 0:
                        bytes[at] ^= (byte)(1 << rng.Next(8));
                        break;
                    case 1:
                        bytes[at] = Interesting[rng.Next(Interesting.Length)];
                        break;
                    case 2:
                        bytes.Insert(at, Interesting[rng.Next(Interesting.Length)]);
                        break;
                    case 3:
                        bytes.RemoveRange(at, Math.Min(1 + rng.Next(8), bytes.Count - at));
                        break;
                    case 4:
                        {
                            int len = Math.Min(1 + rng.Next(32), bytes.Count - at);
                            bytes.InsertRange(rng.Next(bytes.Count), bytes.GetRange(at, len));
                            break;
                        }
                    case 5:
                        bytes.RemoveRange(at, bytes.Count - at);
                        break; // truncate
                    default:
                        {
                            int other = rng.Next(bytes.Count);
                            (bytes[at], bytes[other]) = (bytes[other], bytes[at]);
                            break;
                        }
                }
            }
            yield return bytes.ToArray();
        }
    }

    public static IEnumerable<byte[]> Variants(string valid, int count, int seed) =>
        Variants(Encoding.UTF8.GetBytes(valid), count, seed);
}

/// <summary>Runs a parser over mutated inputs and sorts the outcomes: accepted, refused with the documented
/// exception naming the file, or a defect (another exception type, a message without the file, or a hang).</summary>
public sealed class FuzzOutcome
{
    public int Accepted,
        Refused;
    public List<string> Defects { get; } = new();

    public static FuzzOutcome Run(
        string path,
        IEnumerable<byte[]> inputs,
        Action<string> parse,
        Func<Exception, bool> documented,
        TimeSpan? budget = null
    )
    {
        var outcome = new FuzzOutcome();
        var work = Task.Run(() =>
        {
            int n = 0;
            foreach (var input in inputs)
            {
                n++;
                File.WriteAllBytes(path, input);
                try
                {
                    parse(path);
                    outcome.Accepted++;
                }
                catch (Exception e)
                    when (documented(e) && e.Message.Contains(Path.GetFileName(path), StringComparison.Ordinal))
                {
                    outcome.Refused++;
                }
                catch (Exception e)
                {
                    if (outcome.Defects.Count < 5)
                        outcome.Defects.Add(
                            $"input {n}: {e.GetType().Name}: {e.Message} "
                                + $"[{Convert.ToBase64String(input.Take(200).ToArray())}]"
                        );
                    else
                        outcome.Defects.Add("…");
                }
            }
        });
        if (!work.Wait(budget ?? TimeSpan.FromSeconds(60)))
            outcome.Defects.Add("the parser did not finish in time (a hang?)");
        return outcome;
    }

    public override string ToString() => $"{Accepted} accepted, {Refused} refused, {Defects.Count} defects";
}
