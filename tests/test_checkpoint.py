"The checkpoint format on the kit's real models: round trips, the bundled models, old `.pt` files (nbs/10_checkpoint.ipynb tests the parts)."
import json
from pathlib import Path

import pytest
import torch

from music_gan.checkpoint import (CheckpointMismatch, CorruptCheckpoint, file_sha256, load_checkpoint, load_config, load_model, save_model,
                                  read_model_folder, save_checkpoint, tensor_digest, convert_checkpoint)
from music_gan.config import preset
from music_gan.discriminator import BertMLM, Discriminator
from music_gan.generator import Sampler, TransformerXL

ASSETS = Path(__file__).resolve().parents[1] / 'assets'
PRIME = torch.tensor([[1, 30, 200, 280, 120, 250, 40, 210]])
# greedy continuations of PRIME by the bundled models (assets/README.md, made 2026-12-01): a change means that the
# bundled weights or the decoding changed
GREEDY = {'mle': [128, 42, 277, 198, 118, 130, 30, 42, 277, 277, 227, 118, 130, 33, 40, 277, 277, 227, 121, 128, 35, 39, 123, 127],
          'gan': [128, 39, 205, 127, 39, 205, 127, 39, 205, 127, 39, 205, 127, 39, 186, 118, 127, 32, 39, 205, 127, 39, 127, 120]}


@pytest.fixture(autouse=True)
def _no_grad():
    with torch.no_grad(): yield


def test_transformer_xl_round_trip(tmp_path):
    "save_pretrained → from_pretrained keeps the class, the configuration and every logit (the tied embedding/output included)."
    cfg = preset('tiny'); torch.manual_seed(0)
    m = TransformerXL(cfg.generator).eval()
    x = torch.randint(0, cfg.codec.vocab_size, (2, 12))
    m.save_pretrained(tmp_path / 'm', cfg, meta={'run': 'test'})
    back = TransformerXL.from_pretrained(tmp_path / 'm')
    assert isinstance(back, TransformerXL) and not back.training
    assert torch.equal(back(x)[0], m(x)[0])
    assert load_config(tmp_path / 'm') == cfg
    assert json.loads((tmp_path / 'm' / 'config.json').read_text())['meta'] == {'run': 'test'}
    half = load_model(m.save_pretrained(tmp_path / 'h', cfg, half=True))
    assert (tmp_path / 'h' / 'model.safetensors').stat().st_size < 0.6 * (tmp_path / 'm' / 'model.safetensors').stat().st_size
    assert torch.allclose(half(x)[0], m(x)[0], atol=0.05)


def test_checkpoint_folder_roles(tmp_path):
    "A GAN-like checkpoint: each role loads as its class; BertMLM's span-boundary head survives through init_kwargs."
    cfg = preset('tiny'); torch.manual_seed(0)
    g, d, mlm = TransformerXL(cfg.generator), Discriminator(cfg.discriminator), BertMLM(cfg.discriminator, sbo=True)
    run = tmp_path / 'run'
    save_checkpoint(run / 'checkpoint', {'generator': g, 'discriminator': d, 'mlm': mlm}, {'task': 'gan', 'step': 5}, cfg)
    x = torch.randint(0, cfg.codec.vocab_size, (2, 12))
    assert torch.equal(load_model(run)(x)[0], g.eval()(x)[0])
    assert torch.equal(load_model(run, role='discriminator')(x), d.eval()(x))
    back = BertMLM.from_pretrained(run)                                        # the one BertMLM folder
    assert back.sbo is not None and all(torch.equal(a, b) for a, b in zip(back.state_dict().values(), mlm.state_dict().values()))
    with pytest.raises(CheckpointMismatch, match="no 'critic' model"): load_model(run, role='critic')
    ck = load_checkpoint(run)
    assert (ck.task, ck.step, sorted(ck.models)) == ('gan', 5, ['discriminator', 'generator', 'mlm'])


@pytest.mark.parametrize('name', ['mle', 'gan'])
def test_bundled_models(name):
    "The bundled model folders: hash checked, a TransformerXL, their provenance, and the greedy tokens they gave when bundled."
    folder = ASSETS / f'model_{name}'
    info, _ = read_model_folder(folder)
    assert info['class'] == 'TransformerXL' and info['dtype'] == 'float32'
    assert info['meta']['source_task'] == name                                  # exported from a run of that stage
    m = load_model(folder)
    assert m.generate(PRIME, 24, Sampler(top_k=1))[0].tolist() == GREEDY[name]
    assert TransformerXL.from_pretrained(folder).generate(PRIME, 24, Sampler(top_k=1))[0].tolist() == GREEDY[name]


def test_old_trainer_checkpoint_converts(tmp_path):
    "An old trainer checkpoint.pt (version 1) becomes a checkpoint folder whose model and training state are the old ones."
    cfg = preset('tiny'); torch.manual_seed(0)
    g = TransformerXL(cfg.generator)
    state = {'version': 1, 'task': 'mle', 'config': cfg.to_dict(), 'model': g.state_dict(), 'optimizer': {'state': {}, 'param_groups': []},
             'step': 3, 'epoch': 0, 'batch_in_epoch': 3, 'nonfinite': 0, 'task_state': {}, 'rng': {'torch': torch.get_rng_state()}}
    torch.save({**state, 'sha256': tensor_digest(state)}, tmp_path / 'checkpoint.pt')
    x = torch.randint(0, cfg.codec.vocab_size, (1, 8))
    assert torch.equal(load_model(tmp_path)(x)[0], g.eval()(x)[0])             # an old run folder, converted in memory
    out = convert_checkpoint(tmp_path / 'checkpoint.pt', tmp_path / 'new')
    ck = load_checkpoint(out)
    assert (ck.task, ck.step, ck.training_state['batch_in_epoch']) == ('mle', 3, 3)
    assert torch.equal(load_model(out)(x)[0], g(x)[0])
    raw = bytearray((out / 'training_state.pt').read_bytes()); raw[-10] ^= 1; (out / 'training_state.pt').write_bytes(bytes(raw))
    with pytest.raises(CorruptCheckpoint, match='training_state.pt'): load_checkpoint(out)


def test_every_saved_class_round_trips(tmp_path):
    "MusicTransformer and the CNN discriminator (with its non-default constructor arguments) come back equal."
    from music_gan.discriminator import CNNDiscriminator
    from music_gan.music_transformer import MusicTransformer
    cfg = preset('tiny'); torch.manual_seed(0)
    x = torch.randint(0, cfg.codec.vocab_size, (2, 12))
    mt = MusicTransformer(cfg.music_transformer).eval()
    assert torch.equal(load_model(mt.save_pretrained(tmp_path / 'mt', cfg))(x)[0], mt(x)[0])
    cnn = CNNDiscriminator(cfg.discriminator, dropout=0.5, d_fc=50).eval()
    back = load_model(save_model(cnn, tmp_path / 'cnn', config=cfg))
    assert isinstance(back, CNNDiscriminator) and back.fc.out_features == 50 and torch.equal(back(x), cnn(x))


def test_pickled_old_file_names_the_convert_command(tmp_path):
    "An old .pt that needs a full unpickle is refused with the one line saying how to convert it."
    import numpy as np
    cfg = preset('tiny')
    torch.save({'version': 1, 'task': 'mle', 'config': cfg.to_dict(), 'model': TransformerXL(cfg.generator).state_dict(),
                'rng': np.random.get_state()}, tmp_path / 'old.pt')
    with pytest.raises(ValueError, match=r'convert it once with `music-gan convert .*old.pt NEW_DIR --trust-sha256 HASH`'):
        load_model(tmp_path / 'old.pt')
    out = convert_checkpoint(tmp_path / 'old.pt', tmp_path / 'new', trust_sha256=file_sha256(tmp_path / 'old.pt'))
    assert isinstance(load_model(out), TransformerXL)


def test_build_script_configuration_is_the_bundled_one():
    "assets/build.sh trains `benchmarks/model_size.py`'s arm small-64: its generator and schedule are the bundled models'."
    import sys
    sys.path.insert(0, str(ASSETS.parent / 'benchmarks'))
    from model_size import arm_config
    cfg = arm_config('small-64')
    assert "arm_config('small-64')" in (ASSETS / 'build.sh').read_text()
    for name in ('mle', 'gan'):
        bundled = load_config(ASSETS / f'model_{name}')
        assert bundled.generator == cfg.generator, name
        assert (bundled.train.lr, bundled.train.warmup) == (cfg.train.lr, cfg.train.warmup), name
