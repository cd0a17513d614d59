"""The performance-event grammar of `music_gan.sampling`: random logits never get past it, its vectorised mask equals the
per-token twin, and the bundled model's samples hold no note over the cap."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch import nn

from music_gan.checkpoint import load_config, load_model
from music_gan.config import GeneratorConfig
from music_gan.events import EventCodec
from music_gan.sampling import (MAX_NOTE_SECONDS, Grammar, GrammarRef, Sampler, generate_seconds, generate_tokens,
                                grammar_violations, prime_from_midi)

CODEC = EventCodec()
ON, OFF, SHIFT, VEL = CODEC.note_on, CODEC.note_off, CODEC.time_shift, CODEC.velocity


class RandomLogits(nn.Module):
    "A stand-in language model whose logits are noise around a fixed taste for some tokens (say, long shifts and orphan NOTE_OFFs)."
    def __init__(self, seed:int, scale:float):
        super().__init__()
        self.cfg = GeneratorConfig(vocab_size=CODEC.vocab_size, n_layer=1, d_model=8, n_head=1, d_inner=8)
        self.emb = nn.Embedding(CODEC.vocab_size, 1)
        self.rng = torch.Generator().manual_seed(seed)
        self.bias = torch.randn(CODEC.vocab_size, generator=self.rng) * scale
    def new_cache(self, longest, mem_len, device, dtype): return None
    def step(self, x, cache): return self.bias + torch.randn(x.shape[0], x.shape[1], CODEC.vocab_size, generator=self.rng) * 2
    def generate(self, prime, n_tokens, sampler=None, **kw): return generate_tokens(self, prime, n_tokens, sampler, **kw)


# a valid prime: a few chords whose notes are shorter than any cap drawn below, some left sounding at the cut
PRIMES = [[1], [1, VEL(20), ON(60), SHIFT(30), OFF(60), SHIFT(20), ON(62), ON(67), SHIFT(40), VEL(25), ON(71)]]


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31), lanes=st.integers(1, 6), n=st.integers(1, 300), scale=st.floats(0, 6),
       note=st.sampled_from([0.5, 1.0, MAX_NOTE_SECONDS, None]), rest=st.sampled_from([0.3, 2.0, None]),
       prime=st.sampled_from(PRIMES), top_k=st.sampled_from([None, 1, 8, 32]), close=st.booleans())
def test_random_logits_never_break_the_grammar(seed, lanes, n, scale, note, rest, prime, top_k, close):
    model = RandomLogits(seed, scale)
    prime_t = torch.tensor([prime]).repeat(lanes, 1)
    sampler = Sampler(temperature=1.0, top_k=top_k, max_note_seconds=note, max_rest_seconds=rest)
    out = model.generate(prime_t, n, sampler, seed=seed, close=close)
    for row in out:
        bad = grammar_violations(torch.cat([prime_t[0], row]), CODEC, max_note_seconds=note, max_rest_seconds=rest,
                                 start=len(prime), closed=close and n >= 3)   # the prime leaves 3 notes sounding
        assert bad == [], bad[:5]


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**31), seconds=st.floats(0.5, 3), note=st.sampled_from([0.5, MAX_NOTE_SECONDS]))
def test_generate_seconds_is_valid_and_closed(seed, seconds, note):
    model = RandomLogits(seed, 4.0)
    prime = torch.tensor([PRIMES[1]]).repeat(3, 1)
    for row in generate_seconds(model, prime, seconds, Sampler(max_note_seconds=note), codec=CODEC, seed=seed, max_tokens=400):
        assert grammar_violations(torch.cat([prime[0], row]), CODEC, max_note_seconds=note, start=prime.shape[1]) == []


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31), lanes=st.integers(1, 4), steps=st.integers(1, 120), bounded=st.booleans(),
       note=st.sampled_from([0.2, 1.0, None]), rest=st.sampled_from([0.1, 1.0, None]), prime=st.sampled_from(PRIMES))
def test_vectorised_mask_equals_the_twin(seed, lanes, steps, bounded, note, rest, prime):
    rng = torch.Generator().manual_seed(seed)
    g, refs = Grammar(CODEC, lanes, max_note_seconds=note, max_rest_seconds=rest), [GrammarRef(CODEC, max_note_seconds=note, max_rest_seconds=rest) for _ in range(lanes)]
    for t in prime:
        g.feed(torch.full((lanes,), t)); [r.feed(t) for r in refs]
    bias = torch.randn(CODEC.vocab_size, generator=rng) * 4
    for i in range(steps):
        remaining = steps - i if bounded else None
        mask = g.allowed(remaining)
        for b, r in enumerate(refs): assert set(torch.nonzero(mask[b])[:, 0].tolist()) == r.allowed(remaining)
        tok = torch.multinomial((bias + torch.randn(lanes, CODEC.vocab_size, generator=rng)).masked_fill(~mask, float('-inf')).softmax(-1), 1, generator=rng)[:, 0]
        g.feed(tok); [r.feed(int(x)) for r, x in zip(refs, tok)]
    assert g.fallbacks == 0


def test_a_prime_that_breaks_the_rules_falls_back():
    "A prime that sounds all 88 pitches and ends in a VELOCITY leaves no allowed token: the lane falls back to the basic rules."
    prime = [ON(p) for p in range(21, 109)] + [VEL(3)]
    g, ref = Grammar(CODEC, 1), GrammarRef(CODEC)
    for t in prime: g.feed(torch.tensor([t])); ref.feed(t)
    ok = g.allowed()[0]
    assert g.fallbacks == 1 and ok[OFF(60)] and ok[SHIFT(1)] and not ok[ON(60)] and not ok[VEL(3)]
    assert set(torch.nonzero(ok)[:, 0].tolist()) == ref.allowed()


def test_bundled_model_holds_no_note_over_the_cap(repo_root):
    "The bundled GAN model, loaded as `music-gan sample` loads it, with the grammar on: no note over the cap, no broken event."
    model, cfg = load_model(repo_root / 'assets' / 'model_gan'), load_config(repo_root / 'assets' / 'model_gan')
    codec = cfg.codec.codec()
    prime = prime_from_midi(repo_root / 'assets' / 'prime.mid', 10.0, codec).repeat(3, 1)
    pieces = generate_seconds(model, prime, 20.0, Sampler(temperature=0.95, top_k=32), codec=codec, seed=7)
    for row in pieces:
        tokens = torch.cat([prime[0], row])
        notes = codec.decode_notes(tokens)
        assert len(notes) and (notes.end - notes.start).max() <= MAX_NOTE_SECONDS + 1e-9
        assert grammar_violations(tokens, codec, start=prime.shape[1]) == []


def test_cli_sample_grammar_flag(repo_root, tmp_path, capsys):
    "`music-gan sample` samples with the grammar by default, raw with --no-grammar, and says which."
    from music_gan.cli import main
    for flag, said in (([], 'event grammar on'), (['--no-grammar'], 'event grammar off')):
        out = tmp_path / (flag[0][2:] if flag else 'grammar')
        assert main(['sample', '--ckpt', str(repo_root / 'assets' / 'model_gan'), '--n', '1', '--seconds', '2', '--no-wav',
                     '--out', str(out), '--seed', '3'] + flag) == 0
        assert said in capsys.readouterr().out and (out / 'sample_0.mid').exists()


def test_cli_sample_max_note_seconds(repo_root, tmp_path):
    "`--max-note-seconds` caps every note of the written MIDI."
    from music_gan.cli import main
    from music_gan.events import midi_to_notes
    assert main(['sample', '--ckpt', str(repo_root / 'assets' / 'model_gan'), '--n', '2', '--seconds', '8', '--no-wav',
                 '--out', str(tmp_path), '--seed', '1', '--max-note-seconds', '0.7']) == 0
    for f in sorted(tmp_path.glob('*.mid')):
        n = midi_to_notes(f)                                                     # no prime: every note is generated
        assert len(n) and (n.end - n.start).max() <= 0.7 + 0.011                # (MIDI ticks round by up to a millisecond)


@st.composite
def real_primes(draw):
    "A prime as `prime_from_midi` makes one: the events of drawn notes (each at most 1 s long), cut at a drawn time, notes left sounding."
    from music_gan.events import Notes
    notes = draw(st.lists(st.tuples(st.integers(0, 400), st.integers(1, 100), st.integers(21, 108)), min_size=1, max_size=40))
    on, dur, pitch = (np.array(x) for x in zip(*notes))
    tokens = CODEC.encode_notes(Notes(on / 100, (on + dur) / 100, pitch, np.full(len(on), 80)))
    clock = np.cumsum(np.where((tokens >= CODEC.shift_offset) & (tokens < CODEC.velocity_offset), tokens - CODEC.shift_offset + 1, 0))   # the token clock
    cut = draw(st.integers(1, int(clock[-1]) + 1))
    return [1] + tokens[clock < cut].tolist()


@settings(max_examples=15, deadline=None)
@given(prime=real_primes(), seed=st.integers(0, 2**31), n=st.integers(1, 200), close=st.booleans())
def test_the_grammar_starts_from_a_real_prime(prime, seed, n, close):
    "The state comes from the prime: its open notes may end (no orphan), may not be struck again, and count towards the cap."
    model = RandomLogits(seed, 4.0)
    prime_t = torch.tensor([prime]).repeat(3, 1)
    sampler = Sampler(max_note_seconds=1.0, max_rest_seconds=None)
    g = sampler.new_grammar(prime_t, CODEC)
    out = model.generate(prime_t, n, sampler, seed=seed, close=close)
    for row in out:
        assert grammar_violations(torch.cat([prime_t[0], row]), CODEC, max_note_seconds=1.0, max_rest_seconds=None, start=len(prime),
                                  closed=close and n >= int((g.on_since[0] >= 0).sum())) == []


def test_the_old_import_paths_keep_working():
    "`Sampler` is the sampling module's, and `from music_gan.generator import Sampler` still gives it (the generator imports it)."
    import music_gan.sampling as sampling
    from music_gan.generator import Sampler as OldSampler
    assert OldSampler is sampling.Sampler is Sampler


def test_sampling_imports_no_model():
    "`sampling` duck-types the model: it imports only events, progress, config and outside libraries, never a model module."
    import ast, music_gan.sampling as sampling
    from pathlib import Path
    tree = ast.parse(Path(sampling.__file__).read_text())
    kit = {(n.module or '').split('.')[-1] for n in ast.walk(tree)
           if isinstance(n, ast.ImportFrom) and (n.level > 0 or (n.module or '').startswith('music_gan'))}
    assert kit <= {'events', 'progress', 'config'}, kit
