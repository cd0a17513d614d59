"""CUDA paths of the kit: bf16 autocast in training, CUDA-seeded generation, the cached GAN decoder, the attention forms,
and a training step with no host-device synchronisation. Skipped, with the reason, where there is no CUDA device;
benchmarks/gpu_check.py runs this file on the GPU machine."""
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device: these tests run on a GPU machine '
                                '(bash benchmarks/gpu_check.sh runs them)')
DEV = torch.device('cuda')


def tiny_model(**changes):
    from music_gan.config import preset
    from music_gan.generator import TransformerXL
    g = preset('tiny').generator
    for k, v in changes.items(): setattr(g, k, v)
    torch.manual_seed(0)
    return TransformerXL(g).to(DEV), g


def test_attention_forms_agree_on_cuda():
    from music_gan.attention import attention_mask, rel_attention
    g = torch.Generator(DEV).manual_seed(0)
    B, H, T, M, dh = 2, 3, 8, 24, 16
    rnd = lambda *s: torch.randn(*s, device=DEV, generator=g)
    q, k, v, r, u, w = rnd(B, H, T, dh), rnd(B, H, M + T, dh), rnd(B, H, M + T, dh), rnd(M + T, H, dh), rnd(H, dh), rnd(H, dh)
    allowed = attention_mask(T, M + T, torch.tensor([[True] * M, [False] * M], device=DEV))
    ref = rel_attention(q.double(), k.double(), v.double(), r.double(), u.double(), w.double(), allowed, impl='naive')
    for impl in ('matmul', 'strided', 'sdpa', 'auto'):
        torch.testing.assert_close(rel_attention(q, k, v, r, u, w, allowed, impl=impl).double(), ref, atol=1e-4, rtol=1e-4)
        with torch.autocast('cuda', dtype=torch.bfloat16):
            out = rel_attention(q, k, v, r, u, w, allowed, impl=impl)
        torch.testing.assert_close(out.double(), ref, atol=0.1, rtol=0.1)


def test_bf16_autocast_training_matches_fp32():
    model, g = tiny_model(dropout=0.0)
    x = torch.randint(2, g.vocab_size, (4, g.tgt_len + 1), device=DEV)
    def loss_grads(bf16):
        model.zero_grad()
        with torch.autocast('cuda', dtype=torch.bfloat16, enabled=bf16):
            logits, _ = model(x[:, :-1])
        loss = F.cross_entropy(logits.float().flatten(0, 1), x[:, 1:].flatten())
        loss.backward()
        return loss.item(), torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
    l32, g32 = loss_grads(False)
    l16, g16 = loss_grads(True)
    assert abs(l16 - l32) < 0.05 * abs(l32), (l16, l32)
    assert torch.isfinite(g16).all()
    assert F.cosine_similarity(g16, g32, dim=0) > 0.98


def test_trainer_step_autocasts_on_cuda(tmp_path):
    "Trainer.train_step runs the loss under bf16 autocast on CUDA and takes a finite step."
    from music_gan.config import preset
    from music_gan.generator import Memory
    from music_gan.train import LMTask, Trainer
    model, g = tiny_model()
    cfg = preset('tiny')
    task = LMTask.__new__(LMTask)                                   # LMTask's loss on a synthetic batch (no token cache)
    task.name, task.rank, task.world, task.mem_len, task.mems = 'mle', 0, 1, None, None
    seen = []
    model.register_forward_hook(lambda m, i, o: seen.append(torch.is_autocast_enabled('cuda')))
    tr = Trainer(model, task, cfg, tmp_path, device='cuda')
    x = torch.randint(2, g.vocab_size, (4, g.tgt_len + 1))
    before = [p.detach().clone() for p in model.parameters()]
    out = tr.train_step((x[:, :-1], x[:, 1:], torch.zeros(4, dtype=torch.bool)))
    assert seen == [True] and out is not None and torch.isfinite(torch.tensor(out['loss']))
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert isinstance(task.mems, Memory) and task.mems.hids[0].is_cuda
    assert tr.opt.defaults['fused']                                 # fused Adam on a GPU
    tr.log.close()


def test_cuda_seeded_generation_is_reproducible():
    from music_gan.generator import Sampler
    model, g = tiny_model()
    prime = torch.randint(2, g.vocab_size, (3, 5), device=DEV)
    sampler = Sampler(top_k=8)
    a = model.generate(prime, 40, sampler, seed=3)
    b = model.generate(prime, 40, sampler, seed=3)
    c = model.generate(prime, 40, sampler, seed=4)
    assert a.is_cuda and a.shape == (3, 40)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_cached_decoder_equals_plain_decoder_on_cuda():
    from music_gan.gan import CachedDecoder, PlainDecoder
    model, g = tiny_model(dropout=0.0)
    model.eval()
    _, mems = model(torch.randint(2, g.vocab_size, (3, 20), device=DEV))
    mems = mems.reset(torch.tensor([False, True, False], device=DEV))
    gen = torch.Generator(DEV).manual_seed(0)
    inputs = [F.one_hot(torch.randint(2, g.vocab_size, (3,), device=DEV, generator=gen), g.vocab_size).float() for _ in range(6)]
    plain, cached = PlainDecoder(model, mems, g.mem_len), CachedDecoder(model, mems, g.mem_len, n_steps=6)
    for x in inputs: torch.testing.assert_close(cached.step(x), plain.step(x), atol=1e-4, rtol=1e-4)
    for a, b in zip(cached.memory().hids, plain.memory().hids): torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_benchmark_train_step_has_no_host_device_sync():
    "The MLE step (forward, loss, backward, clipping, fused Adam) never waits for the GPU: no .item(), no implicit sync."
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'benchmarks'))
    from train_step import build_train_step
    from music_gan.config import preset
    _, step = build_train_step(preset('tiny').generator, 4, DEV, bf16=True)
    step()                                                         # first step: lazy initialisation may synchronise
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try: loss = step()
    finally: torch.cuda.set_sync_debug_mode('default')
    assert torch.isfinite(loss).item()
