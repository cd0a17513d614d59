"""benchmarks/gpu_check.py: its dry run (tiny sizes, CPU) writes the report with every section, and its arithmetic."""
import json, subprocess, sys, tarfile
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / 'benchmarks'
sys.path.insert(0, str(BENCH))
import gpu_check
from train_step import train_flops_per_token


def test_dry_run_writes_every_section(tmp_path):
    out, work = tmp_path / 'out', tmp_path / 'work'
    r = subprocess.run([sys.executable, str(BENCH / 'gpu_check.py'), '--dry-run', '--device', 'cpu', f'--out={out}', f'--work={work}'],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    md = (out / 'RESULTS.md').read_text()
    for header in gpu_check.SECTIONS.values(): assert header in md, f'{header!r} missing from RESULTS.md'
    assert md in r.stdout                                                  # the table is printed too
    res = json.loads((out / 'results.json').read_text())
    parts = res['parts']
    assert list(parts) == list(gpu_check.PARTS)
    for name, part in parts.items():
        assert part['status'] == 'ok', (name, part['status'])
        assert part['rows'], f'part {name} measured nothing'
    assert all(r['status'].startswith('skipped: no CUDA') for r in parts['tests']['rows'])   # CUDA work is skipped on the CPU
    train = {r['precision']: r for r in parts['train']['rows']}
    assert {'fp32', 'bf16', 'bf16+compile'} <= set(train) and all(r['status'] == 'ok' for r in train.values())
    assert {(r['precision'], r['batch']) for r in parts['generate']['rows']} >= {('fp32', 1), ('bf16', 2)}
    assert [r['status'] for r in parts['e2e']['rows']] == ['ok'] * 6                      # prepare, mle, mlm, gan, sample, export
    with tarfile.open(out / 'e2e_files.tar.gz') as tf: names = tf.getnames()
    assert any(n.endswith('.mid') for n in names) and any(n.endswith('.wav') for n in names) and 'gan/log.csv' in names
    with tarfile.open(out / 'model_gan.half.tar.part0') as tf:            # the exported model folder (one piece at tiny size)
        assert {'model_gan.half/config.json', 'model_gan.half/model.safetensors'} <= set(tf.getnames())
    assert len([f for f in out.iterdir()]) <= 8                           # what the device tool brings back


def test_flops_per_token_of_the_paper_preset():
    from music_gan.config import preset
    f = train_flops_per_token(preset('paper').generator)
    D, F, L, V, T, M = 500, 1000, 6, 310, 128, 1024
    token, memory, position, attention = 2 * (4 * D * D + 2 * D * F), 4 * D * D * M / T, 2 * D * D * (M + T) / T, 6 * (M + T) * D
    assert f['train'] == pytest.approx(L * (3 * (token + attention) + 2 * (memory + position)) + 3 * 2 * D * V)
    assert f['train'] == pytest.approx(285.138e6)


def test_peak_and_targets():
    assert gpu_check.peak_tflops('NVIDIA H100 80GB HBM3')[0] == 989.0
    assert gpu_check.peak_tflops('NVIDIA H200')[0] == 989.0
    assert gpu_check.peak_tflops('NVIDIA H100 PCIe')[0] == 756.0
    assert 'assumed' in gpu_check.peak_tflops('Some Future GPU')[1]
    row = lambda **kw: dict(status='ok', **kw)
    res = {'train': {'rows': [row(precision='fp32', batch=8, tokens_per_s=100, mfu=0.1), row(precision='bf16', batch=8, tokens_per_s=300, mfu=0.3),
                              row(precision='bf16+compile', batch=16, tokens_per_s=400, mfu=0.4)]},
           'generate': {'rows': [row(precision='fp32', batch=32, new_tokens=1024, tokens_per_s=25000, seconds=1.3),
                                 row(precision='fp32', batch=1, new_tokens=4096, tokens_per_s=300, seconds=13.0)]},
           'gan': {'rows': [row(rollout=128, peak_mib=1000), row(rollout=1024, peak_mib=1300)]}}
    lines = gpu_check.targets(res)
    assert 'MFU >= 35 %' in lines[0] and '40.0 %' in lines[0] and lines[0].endswith(': met')
    assert '4.00x: met' in lines[1]
    assert lines[2].endswith(': met') and lines[3].endswith('NOT met') and '1.30x: NOT met' in lines[4]
