"""Users' causal LM folders and zips: load as generation models; incomplete/unsafe ones refused."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from models import load_model
from models.base import sha256_of
from models.builtin.causal_lm import CausalLMAdapter
from models.errors import ModelLoadError
from models.user import load_user_model
from models.user.causal import load_dtype, stored_weights
from tests.models.lm_fixtures import build, save
from tests.models.user_fixtures import save_bert, zip_folder

PROMPT = "the acting is"


@pytest.fixture(scope="module", params=["gpt2", "llama"])
def lm_dir(request, tmp_path_factory):
    return request.param, save(request.param, tmp_path_factory.mktemp(request.param))


def test_folder_loads_as_generation_with_eager_attention(lm_dir):
    kind, folder = lm_dir
    m = load_user_model(folder)
    assert isinstance(m, CausalLMAdapter)
    assert m.info.modality == "generation" and m.info.class_names == ()
    assert m.info.card["architecture"] == ("GPT2LMHeadModel" if kind == "gpt2"
                                           else "LlamaForCausalLM")
    assert m.module.config._attn_implementation == "eager"
    ids = m.encode(PROMPT)
    assert m.attention(ids).shape[-2:] == (ids.shape[1], ids.shape[1])
    ref, _ = build(kind)  # the same seed: the weights that were saved
    with torch.no_grad():
        assert torch.allclose(m.forward(ids), ref(ids).logits, atol=1e-5)
    out = ref.generate(ids, do_sample=False, max_new_tokens=6, pad_token_id=m.pad_token_id)
    assert m.generate_ids(PROMPT, 6).tolist() == out[0, ids.shape[1]:].tolist()
    assert load_model(str(folder)).info.modality == "generation"  # the public entry point


def test_zip_loads_the_same_model(lm_dir, tmp_path):
    _, folder = lm_dir
    zipped = zip_folder(folder, tmp_path / "lm.zip")
    m, z = load_user_model(folder), load_user_model(zipped)
    assert z.info.modality == "generation" and z.info.sha256 == sha256_of(zipped)
    assert z.generate(PROMPT, 6) == m.generate(PROMPT, 6)
    assert z.log_prob(PROMPT, " great") == pytest.approx(m.log_prob(PROMPT, " great"), abs=1e-5)


def test_deleted_tensor_is_refused_by_name(lm_dir, tmp_path):
    kind, folder = lm_dir
    bad = save(kind, tmp_path / "bad")
    weights = load_file(bad / "model.safetensors")
    victim = sorted(k for k in weights if "mlp" in k)[0]
    del weights[victim]
    save_file(weights, bad / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ModelLoadError, match=victim.replace(".", r"\.")) as err:
        load_user_model(bad)
    assert "\n" not in str(err.value) and "random" in str(err.value)
    with pytest.raises(ModelLoadError, match=victim.replace(".", r"\.")):
        load_user_model(zip_folder(bad, tmp_path / "bad.zip"))


def test_untied_head_missing_is_refused(tmp_path):
    folder = save("llama", tmp_path / "llama")  # tie_word_embeddings=False: lm_head is its own
    weights = load_file(folder / "model.safetensors")
    del weights["lm_head.weight"]
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ModelLoadError, match=r"lm_head\.weight"):
        load_user_model(folder)


def test_classifier_with_missing_head_is_refused(tmp_path):
    folder = save_bert(tmp_path / "bert")
    weights = load_file(folder / "model.safetensors")
    del weights["classifier.weight"]
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ModelLoadError, match=r"classifier\.weight"):
        load_user_model(folder)


def test_remote_code_and_pickles_are_refused(tmp_path):
    folder = save("gpt2", tmp_path / "gpt2")
    cfg = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**cfg, "auto_map": {"AutoModelForCausalLM":
                                                                        "evil.Model"}}))
    with pytest.raises(ModelLoadError, match="remote code"):
        load_user_model(folder)
    (folder / "config.json").write_text(json.dumps(cfg))
    tok_cfg = json.loads((folder / "tokenizer_config.json").read_text())
    (folder / "tokenizer_config.json").write_text(json.dumps({**tok_cfg, "auto_map": {
        "AutoTokenizer": ["evil.Tok", None]}}))
    with pytest.raises(ModelLoadError, match="remote code"):
        load_user_model(folder)
    (folder / "tokenizer_config.json").write_text(json.dumps(tok_cfg))
    (folder / "model.safetensors").unlink()
    torch.save(build("gpt2")[0].state_dict(), folder / "pytorch_model.bin")
    with pytest.raises(ModelLoadError, match="safetensors"):
        load_user_model(folder)


def test_memory_estimate_and_refusal(lm_dir, monkeypatch):
    _, folder = lm_dir
    count, by_dtype = stored_weights(folder)
    saved = load_file(folder / "model.safetensors")
    assert count == sum(t.numel() for t in saved.values())
    assert by_dtype == {"F32": 4 * count}
    monkeypatch.setattr("models.memory.free_bytes", lambda device: 1000)
    with pytest.raises(ModelLoadError, match=r"needs about .* but the CPU RAM has 0 MB free"):
        load_user_model(folder)


def test_half_weights_load_in_half_on_gpu_and_float32_on_cpu(tmp_path):
    folder = save("gpt2", tmp_path / "half", dtype=torch.float16)
    count, by_dtype = stored_weights(folder)
    assert set(by_dtype) == {"F16"} and by_dtype["F16"] == 2 * count
    assert load_dtype(by_dtype, torch.device("cpu")) == torch.float32
    assert load_dtype(by_dtype, torch.device("cuda")) == torch.float16
    assert load_dtype({"F32": 8}, torch.device("cuda")) == torch.float32
    m = load_user_model(folder, device="cpu")
    assert next(m.module.parameters()).dtype == torch.float32
    if torch.cuda.is_available():
        g = load_user_model(folder, device="cuda")
        assert next(g.module.parameters()).dtype == torch.float16
        assert isinstance(g.generate(PROMPT, 4), str)


def test_preflight_smoke_checks_generation(lm_dir):
    from explainers.preflight import preflight

    _, folder = lm_dir
    m = load_user_model(folder)
    report = preflight(m)
    assert report.forward_ok
    assert report.forward_note == f"generate ok: {m.generate('the film is', 8)!r}"
    rows = {r["method"]: r for r in report.table()}
    n_layers = m.module.config.num_hidden_layers
    assert rows["attention"]["works"] and f"[{n_layers}, 4," in rows["attention"]["notes"]
    assert not rows["grad_cam"]["works"] and rows["grad_cam"]["notes"]  # why not, in words
