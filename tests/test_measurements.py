"""Reading measured serving step times: the shared CSV and vLLM's `bench serve --save-result` JSON."""

import json
from pathlib import Path

import pytest

from tco.studies.measurements import MeasurementError, read_measurements

DATA = Path(__file__).resolve().parent / "data" / "serving_measurements.csv"
HEADER = "model,params,layers,heads,kv_heads,head_dim,hardware,dtype,tp,batch,prompt_tokens,generated_tokens,tpot_ms"


def test_the_shared_csv_reads_every_row_with_its_numbers():
    rows = read_measurements(DATA)
    data_lines = [line for line in DATA.read_text().splitlines()[1:] if line and not line.startswith("#")]
    assert len(rows) == len(data_lines) - 1  # minus the header
    first = rows[0]
    assert (first.model, first.params, first.layers, first.tp, first.batch) == ("Llama-2-7B", 6.74e9, 32, 1, 1)
    assert (first.prompt_tokens, first.generated_tokens, first.tpot_ms, first.ttft_ms) == (354, 215, 6.2, 13.9)
    assert rows[-1].ttft_ms is None and rows[-1].tpot_ms == 31.12  # a throughput table has no TTFT


@pytest.mark.parametrize("line, message", [
    ("x,7e9,32,32,32,128,H100 SXM,bf16,1,1,354,215,-6", r"m\.csv: row 1, column 'tpot_ms': .*positive"),
    ("x,7e9,32,32,32,128,H100 SXM,bf16,1,1,354,215,true", r"m\.csv: row 1, column 'tpot_ms'"),
    ("x,7e9,32,32,32,128,H100 SXM,bf16,0,1,354,215,6", r"m\.csv: row 1, column 'tp'"),
    ("x,7e9,,32,32,128,H100 SXM,bf16,1,1,354,215,6", r"m\.csv: row 1, column 'layers': Field required"),
])
def test_a_bad_cell_is_one_line_naming_row_and_column(tmp_path, line, message):
    path = tmp_path / "m.csv"
    path.write_text(f"{HEADER}\n{line}\n")
    with pytest.raises(MeasurementError, match=message) as info:
        read_measurements(path)
    assert "\n" not in str(info.value)


def test_an_unknown_column_is_refused_not_ignored(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(f"{HEADER},tpot_msx\nx,7e9,32,32,32,128,H100 SXM,bf16,1,1,354,215,6,7\n")
    with pytest.raises(MeasurementError, match=r"column 'tpot_msx': Extra inputs are not permitted"):
        read_measurements(path)


def _vllm_result(**extra):
    # the keys `vllm bench serve --save-result` writes (vllm/benchmarks/serve.py), trimmed
    return {"date": "20261202-120000", "backend": "vllm", "model_id": "meta-llama/Llama-2-7b-hf",
            "num_prompts": 50, "request_rate": "inf", "burstiness": 1.0, "max_concurrency": 4,
            "duration": 41.2, "completed": 50, "total_input_tokens": 17700, "total_output_tokens": 10750,
            "request_throughput": 1.21, "output_throughput": 260.9, "mean_ttft_ms": 15.1, "median_ttft_ms": 14.8,
            "mean_tpot_ms": 6.6, "median_tpot_ms": 6.5, "mean_itl_ms": 6.6, **extra}


def test_a_vllm_result_with_metadata_is_one_measurement(tmp_path):
    path = tmp_path / "vllm.json"
    shape = {"params": "6.74e9", "layers": "32", "heads": "32", "kv_heads": "32", "head_dim": "128"}
    path.write_text(json.dumps(_vllm_result(**shape, hardware="H100 SXM")))
    (row,) = read_measurements(path, {"tp": "2"})
    assert (row.model, row.batch, row.tp, row.params, row.hardware) == ("meta-llama/Llama-2-7b-hf", 4, 2, 6.74e9,
                                                                        "H100 SXM")
    assert (row.prompt_tokens, row.generated_tokens) == (17700 / 50, 10750 / 50)
    assert (row.tpot_ms, row.ttft_ms, row.engine) == (6.6, 15.1, "vLLM")


def test_a_vllm_result_without_the_model_shape_says_how_to_give_it(tmp_path):
    path = tmp_path / "vllm.json"
    path.write_text(json.dumps(_vllm_result()))
    with pytest.raises(MeasurementError, match=r"vllm\.json: the vLLM result does not say hardware, head_dim, heads, "
                       r"kv_heads, layers, params, tp; add them when benchmarking \(vllm bench serve --metadata "
                       r"hardware=\.\.\.\) or here \(--set hardware=\.\.\.\)"):
        read_measurements(path)


@pytest.mark.parametrize("text, message", [
    ('{"backend": "vllm"}', r"not a `vllm bench serve --save-result` file"),
    ("{not json", r"not a readable JSON file"),
    ("", r"not a readable CSV file"),
])
def test_unreadable_files_are_one_line(tmp_path, text, message):
    path = tmp_path / "x.json"
    path.write_text(text)
    with pytest.raises(MeasurementError, match=message):
        read_measurements(path)


def test_overrides_must_be_columns(tmp_path):
    with pytest.raises(MeasurementError, match=r"--set tpp: not a measurement column"):
        read_measurements(DATA, {"tpp": "2"})


def test_special_files_are_refused():
    with pytest.raises(MeasurementError, match=r"null: is a character device"):
        read_measurements("/dev/null")


@pytest.mark.parametrize("line, message", [
    ("x,7e9,32,32,32,128,H100 SXM,bf16,3,1,354,215,6", r"row 1, tp 3 does not divide the 32 query heads"),
    ("x,7e9,32.5,32,32,128,H100 SXM,bf16,1,1,354,215,6", r"row 1, layers must be a whole number, got 32\.5"),
    ("x,7e9,32,32,32,128,H100 SXM,bf16,1,1.5,354,215,6", r"row 1, batch must be a whole number"),
])
def test_impossible_shapes_are_refused(tmp_path, line, message):
    path = tmp_path / "m.csv"
    path.write_text(f"{HEADER}\n{line}\n")
    with pytest.raises(MeasurementError, match=message):
        read_measurements(path)


def test_a_first_token_needs_a_prompt(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(f"{HEADER},ttft_ms\nx,7e9,32,32,32,128,H100 SXM,bf16,1,1,0,215,6,5\n")
    with pytest.raises(MeasurementError, match=r"ttft_ms needs prompt_tokens > 0"):
        read_measurements(path)


def test_a_byte_order_mark_and_a_json_list_are_read_as_json(tmp_path):
    shape = {"params": "6.74e9", "layers": "32", "heads": "32", "kv_heads": "32", "head_dim": "128",
             "hardware": "H100 SXM", "tp": "1"}
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(_vllm_result(**shape)).encode())
    assert read_measurements(bom)[0].tpot_ms == 6.6
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    with pytest.raises(MeasurementError, match=r"list\.json: not a `vllm bench serve --save-result` file"):
        read_measurements(listed)


def test_messages_name_the_path_given():
    with pytest.raises(MeasurementError, match=r"^/dev/zero: is a character device"):
        read_measurements("/dev/zero")
