using SemiClip.Tensors;
using static TorchSharp.torch;

namespace SemiClip.Evaluation;

/// <summary>Linear probe on frozen features: multinomial logistic regression with an L2 penalty,
/// fitted by TorchSharp's L-BFGS; the penalty is chosen on a validation split from a log-spaced grid,
/// then the probe is refitted on train + validation (the CLIP paper's protocol, with a smaller grid).</summary>
public static class LinearProbe
{
    public sealed record Result(
        double TestAccuracy,
        double ChosenL2,
        IReadOnlyDictionary<double, double> ValidationAccuracy
    );

    public static Result Run(
        Tensor trainX,
        long[] trainY,
        Tensor testX,
        long[] testY,
        int classes,
        double validationFraction = 0.2,
        int seed = 0,
        double[]? grid = null
    )
    {
        grid ??= new[] { 1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 1.0 };
        var order = Enumerable.Range(0, trainY.Length).ToArray();
        new Random(seed).Shuffle(order);
        int nVal = Math.Max(1, (int)(trainY.Length * validationFraction));
        var valIdx = order.Take(nVal).ToArray();
        var fitIdx = order.Skip(nVal).ToArray();
        var fitX = trainX.index_select(0, tensor(fitIdx.Select(i => (long)i).ToArray()));
        var fitY = fitIdx.Select(i => trainY[i]).ToArray();
        var valX = trainX.index_select(0, tensor(valIdx.Select(i => (long)i).ToArray()));
        var valY = valIdx.Select(i => trainY[i]).ToArray();
        var scores = new Dictionary<double, double>();
        foreach (var l2 in grid)
        {
            var (w, b) = Fit(fitX, fitY, classes, l2);
            scores[l2] = Accuracy(valX, valY, w, b);
        }
        // ties: stronger regularisation
        double chosen = scores.OrderByDescending(kv => kv.Value).ThenByDescending(kv => kv.Key).First().Key;
        var (wf, bf) = Fit(trainX, trainY, classes, chosen);
        return new Result(Accuracy(testX, testY, wf, bf), chosen, scores);
    }

    public static (Tensor W, Tensor B) Fit(Tensor x, long[] y, int classes, double l2, int iterations = 100)
    {
        var features = x.to(float64);
        var targets = tensor(y);
        var w = new TorchSharp.Modules.Parameter(zeros(features.shape[1], classes, dtype: float64));
        var b = new TorchSharp.Modules.Parameter(zeros(classes, dtype: float64));
        // TorchSharp spells this parameter "tolerange_grad".
        var optimizer = optim.LBFGS(
            new[] { w, b },
            lr: 1,
            max_iter: iterations,
            tolerange_grad: 1e-9,
            tolerance_change: 1e-12
        );
        optimizer.step(() =>
        {
            optimizer.zero_grad();
            var loss = nn
                .functional.cross_entropy(features.matmul(w).Plus(b), targets)
                .Plus(w.Squared().sum().Times(l2));
            loss.backward();
            return loss;
        });
        return (w.detach(), b.detach());
    }

    public static double Accuracy(Tensor x, long[] y, Tensor w, Tensor b)
    {
        var predicted = x.to(float64).matmul(w).Plus(b).argmax(1).data<long>().ToArray();
        return predicted.Zip(y).Count(p => p.First == p.Second) / (double)y.Length;
    }
}
