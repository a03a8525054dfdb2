// transformers.js, the runtime the Xenova CLIP repositories are made for, loads a folder SemiClip exported
// (`bench export-check`): its tokenizer.json must give SemiClip's token ids, and onnx/text_model.onnx, run by
// transformers.js with its own tokenizer and padding, must give SemiClip's text embeddings.
// usage: node check.mjs DIR   (DIR holds one folder per exported model, each with expected.json)
import fs from 'node:fs';
import path from 'node:path';
import { env, AutoTokenizer, CLIPTextModelWithProjection } from '@huggingface/transformers';

const root = path.resolve(process.argv[2]);
env.allowRemoteModels = false;
env.localModelPath = root + path.sep;
const lines = [];
let failures = 0;
for (const name of fs.readdirSync(root).sort()) {
  const expected = JSON.parse(fs.readFileSync(path.join(root, name, 'expected.json'), 'utf8'));
  const tokenizer = await AutoTokenizer.from_pretrained(name);
  // A caption longer than the context is cut: SemiClip (as open_clip) keeps the end token last; transformers.js truncates
  // after adding the special tokens, so its last id is a word's. Such rows are compared without their last id and
  // left out of the embedding comparison (transformers.js pools them at another position, for any CLIP model).
  const context = expected.ids.reduce((m, r) => Math.max(m, r.length), 0);
  let idsEqual = 0, cut = 0;
  const comparable = [];
  expected.captions.forEach((caption, i) => {
    const ids = Array.from(tokenizer(caption, { truncation: true }).input_ids.data, Number);
    const want = expected.ids[i];
    const truncated = want.length === context && ids.length === context;
    const n = truncated ? context - 1 : Math.max(ids.length, want.length);
    const same = ids.length === want.length && ids.slice(0, n).every((v, j) => v === want[j]);
    if (same) idsEqual++;
    else {
      const at = ids.findIndex((v, j) => v !== want[j]);
      lines.push(`  ${name}: "${caption.slice(0, 40)}…" differs from token ${at}: transformers.js ${ids.slice(at, at + 6)}, SemiClip ${want.slice(at, at + 6)}`);
    }
    if (truncated) { cut++; lines.push(`  ${name}: "${caption.slice(0, 40)}…" is cut at ${context}: ends with ${ids[context - 1]} in transformers.js, ` +
      `with the end token ${want[context - 1]} in SemiClip`); }
    else if (same) comparable.push(i);
  });
  const model = await CLIPTextModelWithProjection.from_pretrained(name, { dtype: 'fp32' });
  const inputs = tokenizer(expected.captions, { padding: true, truncation: true });
  const { text_embeds } = await model(inputs);
  const dim = text_embeds.dims[1];
  let worst = 0;
  for (const i of comparable) expected.text_embeds[i].forEach((v, j) => { worst = Math.max(worst, Math.abs(v - text_embeds.data[i * dim + j])); });
  const ok = idsEqual === expected.captions.length && comparable.length > 0 && worst < 1e-4;
  if (!ok) failures++;
  lines.unshift(`${ok ? 'PASS' : 'FAIL'} ${name} (end-of-text ${expected.end_of_text}): token ids equal for ${idsEqual}/${expected.captions.length} ` +
    `captions (${cut} cut at the context, compared up to the end token); text_embeds of the ${comparable.length} uncut captions, ` +
    `run in one padded batch by transformers.js: max |difference| ${worst.toExponential(2)}`);
}
console.log(lines.join('\n'));
process.exit(failures === 0 ? 0 : 1);
