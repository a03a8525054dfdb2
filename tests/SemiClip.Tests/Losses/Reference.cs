namespace SemiClip.Tests.Losses;

/// <summary>Straightforward double-array implementations, independent of the library's tensor code.</summary>
internal static class Reference
{
    public static double[,] MatMulT(double[,] a, double[,] b, double scale = 1)
    {
        int n = a.GetLength(0),
            m = b.GetLength(0),
            d = a.GetLength(1);
        var r = new double[n, m];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
            {
                double s = 0;
                for (int k = 0; k < d; k++)
                    s += a[i, k] * b[j, k];
                r[i, j] = scale * s;
            }
        return r;
    }

    public static double[,] Transpose(double[,] a)
    {
        var r = new double[a.GetLength(1), a.GetLength(0)];
        for (int i = 0; i < a.GetLength(0); i++)
            for (int j = 0; j < a.GetLength(1); j++)
                r[j, i] = a[i, j];
        return r;
    }

    public static double[,] VStack(double[,] a, double[,] b)
    {
        int n = a.GetLength(0),
            m = b.GetLength(0),
            c = a.GetLength(1);
        var r = new double[n + m, c];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c; j++)
                r[i, j] = a[i, j];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < c; j++)
                r[n + i, j] = b[i, j];
        return r;
    }

    public static double[] LogSoftmaxRow(double[,] logits, int i)
    {
        int m = logits.GetLength(1);
        double max = double.NegativeInfinity;
        for (int j = 0; j < m; j++)
            max = Math.Max(max, logits[i, j]);
        double sum = 0;
        for (int j = 0; j < m; j++)
            sum += Math.Exp(logits[i, j] - max);
        var r = new double[m];
        for (int j = 0; j < m; j++)
            r[j] = logits[i, j] - max - Math.Log(sum);
        return r;
    }

    public static double[,] SoftmaxRows(double[,] x, double scale = 1)
    {
        var scaled = Scale(x, scale);
        var r = new double[x.GetLength(0), x.GetLength(1)];
        for (int i = 0; i < x.GetLength(0); i++)
        {
            var l = LogSoftmaxRow(scaled, i);
            for (int j = 0; j < l.Length; j++)
                r[i, j] = Math.Exp(l[j]);
        }
        return r;
    }

    public static double[,] Scale(double[,] x, double s)
    {
        var r = (double[,])x.Clone();
        for (int i = 0; i < x.GetLength(0); i++)
            for (int j = 0; j < x.GetLength(1); j++)
                r[i, j] *= s;
        return r;
    }

    /// <summary>Cross-entropy with integer labels (row i's label is i), mean over rows.</summary>
    public static double CrossEntropyDiagonal(double[,] logits)
    {
        double total = 0;
        for (int i = 0; i < logits.GetLength(0); i++)
            total -= LogSoftmaxRow(logits, i)[i];
        return total / logits.GetLength(0);
    }

    public static double SoftCrossEntropy(double[,] logits, double[,] targets)
    {
        double total = 0;
        for (int i = 0; i < logits.GetLength(0); i++)
        {
            var l = LogSoftmaxRow(logits, i);
            for (int j = 0; j < l.Length; j++)
                total -= targets[i, j] * l[j];
        }
        return total / logits.GetLength(0);
    }

    /// <summary>POT's sinkhorn_knopp in the plain domain with uniform marginals.</summary>
    public static double[,] SinkhornPlan(double[,] cost, double eps, int iterations)
    {
        int n = cost.GetLength(0),
            m = cost.GetLength(1);
        var k = new double[n, m];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
                k[i, j] = Math.Exp(-cost[i, j] / eps);
        var u = Enumerable.Repeat(1.0 / n, n).ToArray();
        var v = Enumerable.Repeat(1.0 / m, m).ToArray();
        for (int it = 0; it < iterations; it++)
        {
            for (int j = 0; j < m; j++)
            {
                double s = 0;
                for (int i = 0; i < n; i++)
                    s += k[i, j] * u[i];
                v[j] = (1.0 / m) / s;
            }
            for (int i = 0; i < n; i++)
            {
                double s = 0;
                for (int j = 0; j < m; j++)
                    s += k[i, j] * v[j];
                u[i] = (1.0 / n) / s;
            }
        }
        var p = new double[n, m];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
                p[i, j] = u[i] * k[i, j] * v[j];
        return p;
    }

    public static double[,] NormaliseRows(double[,] p)
    {
        var r = (double[,])p.Clone();
        for (int i = 0; i < p.GetLength(0); i++)
        {
            double s = 0;
            for (int j = 0; j < p.GetLength(1); j++)
                s += p[i, j];
            for (int j = 0; j < p.GetLength(1); j++)
                r[i, j] /= s;
        }
        return r;
    }

    /// <summary>Mean over rows of KL(Ŷ‖P̂), both re-normalised over j ≠ i.</summary>
    public static double NegativesKl(double[,] logits, double[,] targets)
    {
        int b = logits.GetLength(0);
        double total = 0;
        for (int i = 0; i < b; i++)
        {
            double ySum = 0,
                pMax = double.NegativeInfinity;
            for (int j = 0; j < b; j++)
                if (j != i)
                {
                    ySum += targets[i, j];
                    pMax = Math.Max(pMax, logits[i, j]);
                }
            double pSum = 0;
            for (int j = 0; j < b; j++)
                if (j != i)
                    pSum += Math.Exp(logits[i, j] - pMax);
            for (int j = 0; j < b; j++)
            {
                if (j == i)
                    continue;
                double y = targets[i, j] / ySum,
                    logP = logits[i, j] - pMax - Math.Log(pSum);
                if (y > 0)
                    total += y * (Math.Log(y) - logP);
            }
        }
        return total / b;
    }
}
