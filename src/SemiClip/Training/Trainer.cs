using System.Diagnostics;
using SemiClip.Data;
using SemiClip.Losses;
using SemiClip.Model;
using SemiClip.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace SemiClip.Training;

/// <summary>One optimisation step for any objective: encode, compute the named loss parts, backward,
/// clip gradients, AdamW with warm-up + cosine, clamp logit_scale to ln 100, and return what the step produced
/// (<see cref="StepResult"/>); logging, checkpoints and evaluation belong to the loop around it. Each step
/// runs inside its own dispose scope so native memory stays flat.
/// Gradient accumulation follows open_clip: features of all micro-batches are first computed without
/// gradient and cached, then each micro-batch is re-encoded with gradient and the loss is taken over
/// the full batch, so negatives span micro-batches. Unlike open_clip, logit_scale and the keyword
/// features take gradient from the first micro-batch only, so the accumulated gradient equals the
/// full-batch one. bf16: TorchSharp has no autocast; the model's weights are cast to bf16, AdamW keeps
/// float32 master weights, and the loss is computed in float32.</summary>
public sealed class Trainer : IDisposable
{
    static readonly double MaxLogitScale = Math.Log(100);

    readonly ClipModel _model;
    readonly ITrainingObjective _objective;
    readonly TrainConfig _config;
    readonly Device _device;
    readonly Tensor? _keywordTokens;

    /// <summary>The keywords' keys for <see cref="LockedFeatures"/>: their rows in the keyword tokens.</summary>
    readonly IReadOnlyList<string> _keywordKeys;
    readonly ScalarType _dtype;
    readonly SupportQueue? _support;
    readonly IReadOnlyList<TorchSharp.Modules.BatchNorm2d> _frozenNorms;
    readonly LockedFeatures? _lockedImages,
        _lockedTexts,
        _lockedKeywords;

    /// <summary>How many images' and texts' (captions and keywords) locked-tower features are kept in memory: 0 for a
    /// tower not locked whole, for augmented images, or with cache_locked_features off.</summary>
    public (int Images, int Texts) LockedFeaturesKept =>
        (_lockedImages?.Count ?? 0, (_lockedTexts?.Count ?? 0) + (_lockedKeywords?.Count ?? 0));

    /// <summary>Which towers' locked features this trainer keeps (<see cref="LockedFeatures"/>).</summary>
    public (bool Images, bool Texts) KeepsLockedFeatures => (_lockedImages != null, _lockedTexts != null);

    public AdamW Optimizer { get; }
    public long TotalSteps { get; }

    /// <summary>Called with the step number before each step; lets tests inject a failure at a chosen step.</summary>
    public Action<long>? BeforeStep { get; set; }

    readonly ClipModel? _teacher;

    /// <param name="config">A checked config (<see cref="TrainConfigValidator"/>): the settings alone suffice, since
    /// the caller brings the model, the batches, the keyword tokens and the teacher.</param>
    /// <param name="teacher">SoftCLIP's frozen teacher (a copy of the starting model) when the objective needs
    /// one; the trainer moves it to the device and never updates it.</param>
    public Trainer(
        ClipModel model,
        ITrainingObjective objective,
        ValidatedTrainConfig config,
        Device device,
        long totalSteps,
        Tensor? keywordTokens = null,
        ClipModel? teacher = null
    )
    {
        (_model, _objective, _config, _device, TotalSteps) = (model, objective, config.Values, device, totalSteps);
        _dtype = _config.Precision == Precision.Bf16 ? ScalarType.BFloat16 : ScalarType.Float32;
        _model.to(device);
        _model.SetGradCheckpointing(_config.GradCheckpointing);
        if (_dtype != ScalarType.Float32)
            _model.to(_dtype);
        if (objective.Needs.Has(ObjectiveInput.TeacherFeatures))
        {
            _teacher = teacher
                ?? throw new ArgumentException(
                    "loss.intra_source: teacher needs a teacher model (the frozen starting model)."
                );
            _teacher.to(device);
            if (_dtype != ScalarType.Float32)
                _teacher.to(_dtype);
            foreach (var p in _teacher.parameters())
                p.requires_grad = false;
            _teacher.eval();
        }
        _keywordTokens = keywordTokens?.to(device);
        _keywordKeys = Enumerable.Range(0, (int)(keywordTokens?.shape[0] ?? 0)).Select(i => i.ToString()).ToList();
        if (objective.Needs.SupportQueueSize > 0)
            _support = new SupportQueue(objective.Needs.SupportQueueSize);
        var (beta2, eps) = _config.AdamMoments(model.Config.Vision.IsResNet);
        _frozenNorms = ModelLocks.Apply(_model, _config); // before the optimiser: locked parameters get no state
        bool needsTokens = objective.Needs.Has(ObjectiveInput.TokenFeatures);
        if (LockedFeatures.AppliesToImages(_config, _model, _frozenNorms.ToList(), needsTokens))
            _lockedImages = new LockedFeatures();
        if (LockedFeatures.AppliesToText(_config, needsTokens))
            (_lockedTexts, _lockedKeywords) = (new LockedFeatures(), new LockedFeatures());
        Optimizer = new AdamW(
            _model.named_parameters().Select(p => (p.name, p.parameter)),
            ModelLocks.LearningRateScales(_model, _config)
        )
        {
            Beta1 = _config.Beta1,
            Beta2 = beta2,
            Eps = eps,
            WeightDecay = _config.WeightDecay,
        };
    }

    /// <summary>What one pass encoded, by name (open_clip's feature dict): the parts an objective does not need are
    /// absent, and accumulation joins micro-batches with one loop over whatever is present.</summary>
    sealed class Features(IReadOnlyDictionary<string, Tensor> parts)
    {
        readonly IReadOnlyDictionary<string, Tensor> _parts = parts;

        public Tensor Image => _parts[nameof(Image)];
        public Tensor Text => _parts[nameof(Text)];
        public Tensor? Unpaired => _parts.GetValueOrDefault(nameof(Unpaired));
        public Tensor? ImageTokens => _parts.GetValueOrDefault(nameof(ImageTokens));
        public Tensor? TextTokens => _parts.GetValueOrDefault(nameof(TextTokens));
        public Tensor? TextMask => _parts.GetValueOrDefault(nameof(TextMask));
        public Tensor? TeacherImage => _parts.GetValueOrDefault(nameof(TeacherImage));
        public Tensor? TeacherText => _parts.GetValueOrDefault(nameof(TeacherText));

        /// <summary>The full batch's features for the gradient pass of micro-batch <paramref name="j"/>: its fresh
        /// features (with gradient) in its place, the cached ones elsewhere; parts the fresh pass did not compute (the
        /// frozen teacher's) come from the cache for every micro-batch.</summary>
        public static Features Join(IReadOnlyList<Features> cached, int j, Features fresh)
        {
            Tensor Part(int k, string name) =>
                k == j && fresh._parts.TryGetValue(name, out var own) ? own : cached[k]._parts[name];
            var micro = Enumerable.Range(0, cached.Count);
            return new(
                cached[0]
                    ._parts.Keys.ToDictionary(name => name, name => cat(micro.Select(k => Part(k, name)).ToArray(), 0))
            );
        }
    }

    /// <param name="withTeacher">False when the frozen teacher's features of these images are already at hand (the
    /// gradient pass of accumulation reuses the cached pass's): the teacher encodes each micro-batch once.</param>
    Features Encode(
        Tensor images,
        Tensor tokens,
        Tensor? unpaired,
        IReadOnlyList<string>? imageKeys,
        IReadOnlyList<string>? unpairedKeys,
        IReadOnlyList<string>? textKeys,
        bool withTeacher = true
    )
    {
        bool needTokens = _objective.Needs.Has(ObjectiveInput.TokenFeatures);
        Tensor img,
            txt;
        Tensor? imgTok = null,
            txtTok = null,
            mask = null;
        if (needTokens)
        {
            (img, imgTok) = _model.Visual.EncodeWithTokens(images);
            (txt, txtTok) = _model.EncodeTextWithTokens(tokens);
            mask = Scalars.Range(tokens.shape[1], tokens.device).unsqueeze(0) <= tokens.argmax(-1, keepdim: true);
        }
        else
        {
            img = EncodeImage(images, imageKeys);
            txt = EncodeText(_lockedTexts, tokens, textKeys);
        }
        var q = unpaired is null ? null : EncodeImage(unpaired, unpairedKeys);
        Tensor N(Tensor t) => nn.functional.normalize(t.to(float32), dim: -1);
        Tensor? teacherImage = null,
            teacherText = null;
        if (_teacher is not null && withTeacher)
            using (no_grad())
                (teacherImage, teacherText) = (N(_teacher.EncodeImage(images)), N(_teacher.EncodeText(tokens)));
        var parts = new Dictionary<string, Tensor>
        {
            [nameof(Features.Image)] = N(img),
            [nameof(Features.Text)] = N(txt),
        };
        void Add(string name, Tensor? part)
        {
            if (part is not null)
                parts[name] = part;
        }
        Add(nameof(Features.Unpaired), q is null ? null : N(q));
        Add(nameof(Features.ImageTokens), imgTok?.to(float32));
        Add(nameof(Features.TextTokens), txtTok?.to(float32));
        Add(nameof(Features.TextMask), mask);
        Add(nameof(Features.TeacherImage), teacherImage);
        Add(nameof(Features.TeacherText), teacherText);
        return new Features(parts);
    }

    /// <summary>The image tower's output, its locked part taken from <see cref="LockedFeatures"/> where that
    /// applies and the batch says which images it holds.</summary>
    Tensor EncodeImage(Tensor images, IReadOnlyList<string>? keys) =>
        _lockedImages is null || keys is null
            ? _model.EncodeImage(images)
            : _model.Visual.Head(_lockedImages.Get(keys, images, _model.Visual.LockedPart));

    /// <summary>The text tower's output, as <see cref="EncodeImage"/>.</summary>
    Tensor EncodeText(LockedFeatures? kept, Tensor tokens, IReadOnlyList<string>? keys) =>
        kept is null || keys is null
            ? _model.EncodeText(tokens)
            : _model.TextHead(kept.Get(keys, tokens, _model.TextLockedPart));

    LossOutput Loss(Features f, Tensor? keywordLabels, bool keywordAndScaleGrad, long step, BatchClasses? labels = null)
    {
        var scale = _model.LogitScaleParameter.to(float32).exp();
        Tensor? kw = null;
        if (_keywordTokens is not null && _objective.Needs.Has(ObjectiveInput.KeywordFeatures))
        {
            Tensor Keywords() =>
                nn.functional.normalize(EncodeText(_lockedKeywords, _keywordTokens, _keywordKeys).to(float32), dim: -1);
            if (keywordAndScaleGrad)
                kw = Keywords();
            else
                using (no_grad())
                    kw = Keywords();
        }
        if (!keywordAndScaleGrad)
            scale = scale.detach();
        return _objective.Compute(
            new LossInputs(f.Image, f.Text, scale)
            {
                UnpairedFeatures = f.Unpaired,
                KeywordFeatures = kw,
                KeywordLabels = keywordLabels?.to(float32),
                ImageTokens = f.ImageTokens,
                TextTokens = f.TextTokens,
                TextTokenMask = f.TextMask,
                Labels = labels,
                Support = _support,
                Step = step,
                TeacherImageFeatures = f.TeacherImage,
                TeacherTextFeatures = f.TeacherText,
            }
        );
    }

    /// <summary>What carries from one step to the next besides weights and optimiser (S-CLIP's support queue), for a
    /// checkpoint.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> CrossStepState() => _support?.StateTensors() ?? [];

    /// <summary>Restores <see cref="CrossStepState"/> from a checkpoint's tensors.</summary>
    public void RestoreCrossStepState(Func<string, Tensor?> read) => _support?.LoadState(read, _device);

    /// <summary>One optimisation step on a batch at step index <paramref name="step"/> (0-based).</summary>
    public StepResult Step(TrainBatch batch, long step)
    {
        BeforeStep?.Invoke(step);
        using var scope = NewDisposeScope(); // also catches the gradient handles clipping and zeroing create
        var (parts, diagnostics) = Gradients(batch, step);
        if (_config.GradClipNorm > 0)
            nn.utils.clip_grad_norm_(Optimizer.Parameters, _config.GradClipNorm);
        double lr = LearningRateSchedule.At(step, _config.Lr, _config.WarmupSteps, TotalSteps);
        Optimizer.Update(lr);
        Optimizer.ZeroGrad();
        Optimizer.Clamp(_model.LogitScaleParameter, 0, MaxLogitScale);
        return new StepResult(parts, diagnostics, lr, _model.LogitScale());
    }

    /// <summary>Forward and backward over the batch, leaving the gradients in the parameters; returns the
    /// full-batch loss parts (what <see cref="Step"/> does before the optimiser, for tests of the gradients).</summary>
    public Dictionary<string, double> ComputeGradients(TrainBatch batch, long step) => Gradients(batch, step).Losses;

    /// <summary>Forward and backward over the batch (in micro-batches when accumulating), leaving the
    /// gradients in the parameters; returns the full-batch loss parts and the objective's diagnostics.</summary>
    (Dictionary<string, double> Losses, IReadOnlyDictionary<string, double> Diagnostics) Gradients(
        TrainBatch batch,
        long step
    )
    {
        using var scope = NewDisposeScope();
        _model.train();
        foreach (var bn in _frozenNorms)
            bn.eval(); // lock_image_freeze_bn_stats: statistics of locked groups stay
        var images = batch.Images.to(_device).to(_dtype);
        var tokens = batch.Tokens.to(_device);
        var unpaired = _objective.Needs.Has(ObjectiveInput.UnpairedImages)
            ? batch.Unpaired?.to(_device).to(_dtype)
            : null;
        var kwLabels = batch.KeywordLabels?.to(_device);
        int micro = Math.Max(1, _config.AccumSteps);
        Dictionary<string, double> parts;
        IReadOnlyDictionary<string, double> diagnostics;

        if (micro == 1)
        {
            var features = Encode(images, tokens, unpaired, batch.ImageKeys, batch.UnpairedKeys, batch.TextKeys);
            var output = Loss(features, kwLabels, keywordAndScaleGrad: true, step, batch.Labels);
            parts = CheckFinite(output, step);
            diagnostics = new Dictionary<string, double>(output.Diagnostics);
            output.Total().backward();
            _support?.Push(features.Image, features.Text, kwLabels, batch.Labels?.Paired);
        }
        else
        {
            var imgChunks = images.chunk(micro, 0);
            var tokChunks = tokens.chunk(micro, 0);
            var qChunks = unpaired?.chunk(micro, 0);
            // The keys of micro-batch j's rows, as chunk splits the tensors.
            IReadOnlyList<string>? Keys(IReadOnlyList<string>? keys, Tensor[]? chunks, int j) =>
                keys is null || chunks is null
                    ? null
                    : keys.Skip((int)chunks.Take(j).Sum(c => c.shape[0])).Take((int)chunks[j].shape[0]).ToList();
            var keys = Enumerable
                .Range(0, micro)
                .Select(j =>
                    (
                        Images: Keys(batch.ImageKeys, imgChunks, j),
                        Unpaired: Keys(batch.UnpairedKeys, qChunks, j),
                        Texts: Keys(batch.TextKeys, tokChunks, j)
                    )
                )
                .ToArray();
            var cached = new Features[micro];
            using (no_grad())
                for (int j = 0; j < micro; j++)
                    cached[j] = Encode(
                        imgChunks[j],
                        tokChunks[j],
                        qChunks?[j],
                        keys[j].Images,
                        keys[j].Unpaired,
                        keys[j].Texts
                    );
            parts = new();
            diagnostics = new Dictionary<string, double>();
            for (int j = 0; j < micro; j++)
            {
                var fresh = Encode(
                    imgChunks[j],
                    tokChunks[j],
                    qChunks?[j],
                    keys[j].Images,
                    keys[j].Unpaired,
                    keys[j].Texts,
                    withTeacher: false
                );
                var full = Features.Join(cached, j, fresh);
                var output = Loss(full, kwLabels, keywordAndScaleGrad: j == 0, step, batch.Labels);
                var values = CheckFinite(output, step);
                if (j == 0)
                {
                    parts = values;
                    diagnostics = new Dictionary<string, double>(output.Diagnostics);
                }
                output.Total().backward();
                if (j == micro - 1)
                    _support?.Push(full.Image, full.Text, kwLabels, batch.Labels?.Paired);
            }
        }
        return (parts, diagnostics);
    }

    Dictionary<string, double> CheckFinite(LossOutput output, long step)
    {
        var values = output.ToDoubles();
        // The loop knows the last checkpoint and adds it (see TrainingDivergedException.After).
        if (values.Values.Any(v => !double.IsFinite(v)))
            throw new TrainingDivergedException(step, values, lastCheckpoint: null);
        return values;
    }

    public void Dispose()
    {
        Optimizer.Dispose();
        _support?.Dispose();
        _lockedImages?.Dispose();
        _lockedTexts?.Dispose();
        _lockedKeywords?.Dispose();
        _teacher?.Dispose();
    }
}
