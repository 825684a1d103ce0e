"""Training for review-gpt: a byte-level BPE and a small GPT-2 on the Rotten Tomatoes snippets."""
from __future__ import annotations

import math
import random
import time
from collections import Counter
from typing import Any

import torch

from models.builtin import text_common
from models.builtin.common import save_card

NAME = "review-gpt"
VOCAB, CONTEXT, LAYERS, WIDTH, HEADS = 4096, 128, 4, 192, 4
BATCH, EPOCHS, LR, WARMUP, DROPOUT, DECAY = 16, 8, 3e-3, 200, 0.0, 0.1
THREADS = 1  # on the shared 2-core box one thread trained 5-10x faster than two (measured)
EOS = "<|endoftext|>"
Seqs = list[list[int]]


def corpus() -> tuple[list[str], list[str]]:
    """(train, held-out) review snippets: the classifiers' stratified 80/20 split, plot rows dropped."""
    from models.data import rotten_tomatoes

    s = rotten_tomatoes()
    return list(s.x_train), list(s.x_test)


def train_tokenizer(texts: list[str], vocab_size: int = VOCAB) -> Any:
    """Lowercasing byte-level BPE (tokenizers) wrapped in PreTrainedTokenizerFast; EOS id 0."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS], min_frequency=2,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, bos_token=EOS,
                                   pad_token=EOS, model_max_length=CONTEXT)


def encode(tok: Any, texts: list[str]) -> Seqs:
    """Each snippet's ids followed by EOS, cut to the context length."""
    eos = tok.eos_token_id
    return [(ids + [eos])[:CONTEXT] for ids in tok(texts)["input_ids"]]


def batches(seqs: Seqs, size: int, rng: random.Random | None = None):
    """Length-sorted, right-padded (ids, labels) batches; labels -100 on padding."""
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    groups = [order[i: i + size] for i in range(0, len(order), size)]
    if rng is not None:
        rng.shuffle(groups)
    for g in groups:
        width = max(len(seqs[i]) for i in g)
        ids = torch.zeros(len(g), width, dtype=torch.long)
        labels = torch.full((len(g), width), -100, dtype=torch.long)
        for row, i in enumerate(g):
            ids[row, : len(seqs[i])] = torch.tensor(seqs[i])
            labels[row, : len(seqs[i])] = ids[row, : len(seqs[i])]
        yield ids, labels


@torch.no_grad()
def perplexity(forward, seqs: Seqs, device: Any = "cpu") -> tuple[float, int]:
    """(exp of mean NLL, token count) over every token after each snippet's first (EOS included)."""
    nll, count = 0.0, 0
    for ids, labels in batches(seqs, 64):
        logits = forward(ids.to(device)).float()[:, :-1]
        target = labels[:, 1:].to(device)
        loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, reduction="sum")
        nll += float(loss)
        count += int((target != -100).sum())
    return math.exp(nll / count), count


def unigram_perplexity(train: Seqs, held: Seqs, vocab_size: int) -> float:
    """Add-one unigram model from the training tokens, scored on the same held-out tokens."""
    counts = Counter(t for s in train for t in s[1:])
    total = sum(counts.values()) + vocab_size
    nll = [-math.log((counts[t] + 1) / total) for s in held for t in s[1:]]
    return math.exp(sum(nll) / len(nll))


def build_model(vocab_size: int, tok: Any) -> Any:
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = GPT2Config(vocab_size=vocab_size, n_positions=CONTEXT, n_embd=WIDTH, n_layer=LAYERS,
                     n_head=HEADS, resid_pdrop=DROPOUT, embd_pdrop=DROPOUT, attn_pdrop=DROPOUT,
                     bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id,
                     pad_token_id=tok.eos_token_id)
    return GPT2LMHeadModel(cfg)


def fit(model: Any, seqs: Seqs, seed: int, epochs: int = EPOCHS, log=print) -> None:
    """AdamW, linear warm-up then cosine decay, length-bucketed batches in a seeded order."""
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    rest = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": DECAY},
                             {"params": rest, "weight_decay": 0.0}], lr=LR, betas=(0.9, 0.95))
    total = epochs * math.ceil(len(seqs) / BATCH)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / WARMUP) * 0.5 * (
        1 + math.cos(math.pi * min(s, total) / total)))
    rng = random.Random(seed)
    model.train()
    for epoch in range(epochs):
        t0, losses = time.perf_counter(), []
        for ids, labels in batches(seqs, BATCH, rng):
            loss = model(input_ids=ids, labels=labels, use_cache=False).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
            if len(losses) % 100 == 0:
                log(f"  step {len(losses)}: loss {sum(losses[-100:]) / 100:.3f}")
        log(f"epoch {epoch + 1}/{epochs}: train loss {sum(losses) / len(losses):.3f} "
            f"({time.perf_counter() - t0:.0f} s)")
    model.eval()


def card(ppl: float, n_tokens: int, uni: float, n_train: int, n_held: int, params: int,
         seconds: float, seed: int, continuations: dict[str, str]) -> dict[str, Any]:
    return {
        "name": NAME,
        "model": f"GPT-2 (transformers GPT2LMHeadModel): {LAYERS} layers, {WIDTH} wide, {HEADS} "
                 f"heads, {CONTEXT}-token context, tied input/output embeddings",
        "parameters": params,
        "tokenizer": f"byte-level BPE trained here with tokenizers (NFKC + lowercase, ByteLevel "
                     f"pre-tokenizer and decoder), {VOCAB} tokens; {EOS} ends every snippet",
        "data": "Rotten Tomatoes review snippets (fresh and rotten; plot rows dropped)",
        "split": {"method": "the classifiers' stratified 80/20 split, random_state=0",
                  "train": n_train, "held_out": n_held},
        "heldout_perplexity": round(ppl, 4),
        "unigram_perplexity": round(uni, 4),
        "heldout_tokens": n_tokens,
        "perplexity_note": "per token, over every held-out token after a snippet's first, the "
                           "closing end-of-text included; the unigram baseline (add-one counts of "
                           "the training tokens) is scored on exactly the same tokens",
        "greedy_continuations": continuations,
        "training": {"command": f"python -m models.train {NAME}", "seed": seed,
                     "optimizer": f"AdamW lr={LR} (warm-up {WARMUP} steps, cosine), weight decay "
                                  f"{DECAY}, dropout {DROPOUT}, batch {BATCH}, {EPOCHS} epochs",
                     "seconds": round(seconds, 1), "device": "cpu",
                     "storage": "float16 safetensors (the perplexity above is of these weights)"},
        "credits": text_common.RT_CREDIT,
        "licence": "data: research use as distributed by Pang & Lee (Cornell); weights trained "
                   "here, same licence as the project",
    }


def continuations(model: Any, prompts: tuple[str, ...], n: int = 12) -> dict[str, str]:
    return {p: model.generate(p, max_new_tokens=n) for p in prompts}


def train(seed: int = 0, epochs: int = EPOCHS, log=print) -> dict[str, Any]:
    """Train tokenizer + model with a fixed seed, save fp16 to assets/review-gpt/, write the card."""
    t0 = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        return _train(seed, epochs, log, t0)
    finally:
        torch.set_num_threads(threads)


def _train(seed: int, epochs: int, log, t0: float) -> dict[str, Any]:
    from models.builtin import review_gpt

    random.seed(seed)
    torch.manual_seed(seed)
    train_texts, held_texts = corpus()
    tok = train_tokenizer(train_texts)
    train_seqs = encode(tok, train_texts)
    log(f"{len(train_seqs)} snippets, {sum(map(len, train_seqs))} training tokens, "
        f"vocabulary {len(tok)}")
    model = build_model(len(tok), tok)
    fit(model, train_seqs, seed, epochs, log)
    review_gpt.MODEL_DIR.mkdir(parents=True, exist_ok=True)
    model.half().save_pretrained(str(review_gpt.MODEL_DIR))
    tok.save_pretrained(str(review_gpt.MODEL_DIR))
    seconds = time.perf_counter() - t0
    shipped = review_gpt.load(device="cpu")  # score the fp16 weights exactly as they ship
    held = encode(shipped.tokenizer, held_texts)
    ppl, n_tokens = perplexity(shipped.forward, held)
    uni = unigram_perplexity(encode(shipped.tokenizer, train_texts), held, len(tok))
    params = sum(p.numel() for p in shipped.module.parameters())
    result = card(ppl, n_tokens, uni, len(train_texts), len(held_texts), params, seconds, seed,
                  continuations(shipped, review_gpt.SAMPLE_PROMPTS))
    save_card(NAME, result)
    log(f"held-out perplexity {ppl:.2f} vs unigram {uni:.2f} on {n_tokens} tokens")
    return result
