"""The quick demo's fair comparison: `summary.json`'s `comparison`, the baseline row, the exposure-bias files; `evaluate --by-window`."""
import contextlib, csv, io, json, math

import pytest

from music_gan.checkpoint import load_checkpoint
from music_gan.cli import main
from music_gan.recipes import demo


@pytest.fixture(scope='module')
def quick_demo(tmp_path_factory):
    out = tmp_path_factory.mktemp('demo') / 'demo'
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        summary = demo(out, quick=True, device='cpu', workers=2)
    return out, summary


def test_comparison_keys_and_values(quick_demo):
    out, summary = quick_demo
    on_disk = json.loads((out / 'summary.json').read_text())
    assert on_disk['comparison'] == summary['comparison']
    assert set(summary['comparison']) == {'baseline_validation_nll', 'gan_validation_nll'}
    assert all(math.isfinite(v) and v > 0 for v in summary['comparison'].values()), summary['comparison']
    # one seed in the quick demo: the means over seeds are that seed's values, and the summary says it used fewer than 3
    assert summary['protocol']['seeds'] == [0] and 'fewer than the 3' in summary['protocol']['note']
    assert summary['comparison']['gan_validation_nll'] == pytest.approx(summary['gan']['validation_nll'], abs=1e-4)
    assert summary['comparison']['baseline_validation_nll'] == pytest.approx(summary['baseline']['validation_nll'], abs=1e-4)


def test_baseline_is_the_gan_run_without_gan_steps(quick_demo):
    out, _ = quick_demo
    gan, base = load_checkpoint(out / 'gan').training_state, load_checkpoint(out / 'baseline').training_state   # run folders
    assert gan['gan_step'] == base['gan_step'] == 4
    assert gan['mle']['step'] == base['mle']['step']                          # the same number of NLL steps
    assert (gan['mle']['epoch'], gan['mle']['batch_in_epoch']) == (base['mle']['epoch'], base['mle']['batch_in_epoch'])
    names = {r['name'] for r in csv.DictReader(open(out / 'baseline/log.csv'))}
    assert 'nll' in names and 'loss_g' not in names and 'd_real' not in names   # no adversarial step was logged
    assert 'loss_g' in {r['name'] for r in csv.DictReader(open(out / 'gan/log.csv'))}


def test_report_has_baseline_row_with_intervals(quick_demo):
    out, summary = quick_demo
    assert list(summary['report']) == ['training set', 'Transformer-XL (MLE)', 'Baseline (NLL steps only)', 'Transformer-GAN']
    rep = json.loads((out / 'report/report.json').read_text())
    lo, hi = rep['intervals']['Baseline (NLL steps only)']['NLL']
    assert lo <= rep['rows']['Baseline (NLL steps only)']['NLL'] <= hi
    assert 'Baseline (NLL steps only) vs Transformer-GAN' in rep['tests']
    md = (out / 'report/report.md').read_text()
    assert '| Baseline (NLL steps only) |' in md and 'sign-flip' in md and 'fewer than the 3' in md


def test_exposure_files(quick_demo):
    out, summary = quick_demo
    rows = list(csv.DictReader(open(out / 'report/by_window.csv')))
    assert {r['model'] for r in rows} == {'Baseline (NLL steps only)', 'Transformer-GAN'}
    assert [r['window_start_s'] for r in rows if r['model'] == 'Transformer-GAN'] == ['0.0', '5.0']
    assert {'CA', 'CA_lo', 'CA_hi', 'PCU_distance', 'PCU_distance_lo', 'PCU_distance_hi'} <= set(rows[0])
    assert (out / 'report/exposure.png').stat().st_size > 1000 and summary['exposure']['window_seconds'] == 5.0


def test_evaluate_by_window(quick_demo, tmp_path):
    out, _ = quick_demo
    argv = ['evaluate', '--data', str(out / 'data'), '--ckpt', f"gan={out / 'gan'}", '--n', '1', '--seconds', '2',
            '--clip-seconds', '2', '--prime-seconds', '2', '--nll-batches', '1', '--device', 'cpu', '--out', str(tmp_path / 'report'),
            '--by-window', '1', '--long-seconds', '3']
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(argv) == 0
    rows = list(csv.DictReader(open(tmp_path / 'report/by_window.csv')))
    assert [(r['model'], r['window_start_s']) for r in rows] == [('gan', '0.0'), ('gan', '1.0'), ('gan', '2.0')]
    assert 'CA' not in rows[0] and 'NPU_distance' in rows[0]                   # no --bert: no CA
    assert (tmp_path / 'report/exposure.png').exists() and (tmp_path / 'report/report.md').exists()
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        assert main(argv[:-4] + ['--by-window', '0']) == 2
    assert 'by-window' in err.getvalue() and 'Traceback' not in err.getvalue()
