namespace SemiClip.Cli; public static class Program { public static int Main(string[] a){ using var t = TorchSharp.torch.ones(2); System.Console.WriteLine(t.sum().item<float>()); return 0;} }
