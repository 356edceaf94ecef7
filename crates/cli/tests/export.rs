//! `cali-reg export`: the ONNX files, checked by ONNX's own checker and run by onnxruntime
//! against `cali-reg predict` on every row of California (the test split among them).

use std::path::Path;

use crate::support::{Run, run_python};

/// California's features from its raw columns, as the model's recipe derives them (IEEE
/// division, as in Rust), written as Parquet with the features' names.
const DERIVE: &str = r#"
import sys, pyarrow as pa, pyarrow.parquet as pq
raw = pq.read_table(sys.argv[1])
c = lambda name: raw.column(name).to_numpy()
features = {
    "MedInc": c("median_income"), "HouseAge": c("housing_median_age"),
    "AveRooms": c("total_rooms") / c("households"), "AveBedrms": c("total_bedrooms") / c("households"),
    "Population": c("population"), "AveOccup": c("population") / c("households"),
    "Latitude": c("latitude"), "Longitude": c("longitude"),
}
pq.write_table(pa.table(features), sys.argv[2])
"#;

/// Check each exported file with `onnx.checker.check_model(full_check=True)`, run it with
/// onnxruntime on every row of its input table (the columns its metadata names), and compare
/// with `cali-reg predict`'s predictions to 1e-12; print what the files say of themselves.
const SCRIPT: &str = r#"
import sys, json
import numpy as np, onnx, onnxruntime as ort, pyarrow.parquet as pq
out = {}
for name, path, table_file, expected in json.loads(sys.argv[1]):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    meta = {p.key: p.value for p in model.metadata_props}
    names = meta.get("raw_columns", meta["feature_names"]).split(",")
    table = pq.read_table(table_file)
    x = np.column_stack([table.column(n).to_numpy() for n in names]).astype(np.float64)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (y,) = session.run(None, {"X": x})
    ours = pq.read_table(expected).column("prediction").to_numpy()
    assert y.dtype == np.float64 and y.shape == (len(ours), 1), (y.dtype, y.shape)
    error = float(np.max(np.abs(y[:, 0] - ours) / np.maximum(1.0, np.abs(ours))))
    assert error <= 1e-12, (name, error)
    inputs = session.get_inputs()[0]
    out[name] = {"rows": len(ours), "error": error, "input": [inputs.name, inputs.type, inputs.shape],
                 "ops": [n.op_type for n in model.graph.node], "meta": meta,
                 "initializers": {i.name: onnx.TensorProto.DataType.Name(i.data_type) for i in model.graph.initializer}}
print(json.dumps(out))
"#;

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn onnx_files_pass_the_checker_and_onnxruntime_predicts_ours() {
    let run = Run::new().trained();
    run.ok(&["report"]); // the quantised model's test metrics, for its metadata
    let dir = run.dir.path();
    let (raw, features) = (dir.join("raw.parquet"), dir.join("features.parquet"));
    run.ok(&["convert", "-o", path(&raw)]);
    run_python(DERIVE, &[path(&raw), path(&features)]);
    // Each case: its name, the export's flags, the table onnxruntime reads, predict's flags.
    let cases = [
        ("float", vec![], &features, vec![]),
        (
            "quantized",
            vec!["--quantized"],
            &features,
            vec!["--quantized"],
        ),
        ("raw", vec!["--raw"], &raw, vec![]),
        (
            "raw quantized",
            vec!["--raw", "--quantized"],
            &raw,
            vec!["--quantized"],
        ),
    ];
    let mut runs = Vec::new();
    let mut exported = serde_json::Map::new();
    for (i, (name, flags, table, predict_flags)) in cases.iter().enumerate() {
        let onnx_file = dir.join(format!("model-{i}.onnx"));
        let predictions = dir.join(format!("predictions-{i}.parquet"));
        let mut export = vec!["export", "-o", path(&onnx_file)];
        export.extend(flags);
        exported.insert((*name).to_owned(), run.json(&export));
        let mut predict = vec!["predict", "--input", path(table), "-o", path(&predictions)];
        predict.extend(predict_flags);
        run.ok(&predict);
        runs.push(serde_json::json!([
            name,
            path(&onnx_file),
            path(table),
            path(&predictions)
        ]));
    }
    let out = run_python(SCRIPT, &[&serde_json::Value::Array(runs).to_string()]);
    let seen: serde_json::Value = serde_json::from_slice(&out).unwrap();
    for (name, json) in &exported {
        let model = &seen[name];
        assert_eq!(model["rows"], 20_640, "{name}");
        assert_eq!(
            model["input"],
            serde_json::json!(["X", "tensor(double)", ["N", 8]])
        );
        // What the file says of itself is what `export --json` reported writing.
        let meta = &model["meta"];
        assert_eq!(
            meta["feature_names"],
            "MedInc,HouseAge,AveRooms,AveBedrms,Population,AveOccup,Latitude,Longitude"
        );
        let columns = meta.get("raw_columns").unwrap_or(&meta["feature_names"]);
        let listed: Vec<&str> = json["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(columns.as_str().unwrap(), listed.join(","), "{name}");
        for (key, value) in json["metadata"].as_object().unwrap() {
            assert_eq!(&meta[key], value, "{name}: {key}");
        }
        assert_eq!(
            meta["data_sha256"],
            dataset::sha256_hex(&std::fs::read(crate::support::data_path()).unwrap())
        );
        assert_eq!(meta["cali_reg_version"], env!("CARGO_PKG_VERSION"));
    }
    assert!(
        seen["raw"]["meta"]["raw_columns"]
            .as_str()
            .unwrap()
            .contains("households")
    );
    assert_eq!(
        seen["raw"]["ops"],
        serde_json::json!(["Gather", "Gather", "Where", "Div", "MatMul", "Add"])
    );
    let float_r2: f64 = seen["float"]["meta"]["test_r2"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (float_r2 - 0.575_787_706_032_452_3).abs() < 1e-12,
        "{float_r2}"
    );
    let quant_r2: f64 = seen["quantized"]["meta"]["test_r2"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((quant_r2 - 0.5765).abs() < 5e-5, "{quant_r2}");
    assert!(seen["quantized"]["meta"]["max_deviation_bound"].is_string());
    assert_eq!(seen["float"]["ops"], serde_json::json!(["MatMul", "Add"]));
    assert_eq!(
        seen["quantized"]["ops"],
        serde_json::json!(["Cast", "Sub", "Mul", "MatMul", "Add"])
    );
    assert_eq!(
        seen["quantized"]["initializers"]["C"], "UINT8",
        "the codes stay uint8"
    );
    assert_eq!(seen["float"]["initializers"]["W"], "DOUBLE");
}

#[test]
fn export_without_a_model_is_one_line() {
    let run = Run::new();
    let (code, stderr) = run.fail(&["export", "-o", "model.onnx"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("linear_model.msgpack"), "{stderr}");
    assert!(!run.dir.path().join("model.onnx").exists());
}

#[test]
fn an_mlflow_folder_holds_the_model_its_signature_and_its_requirements() {
    let run = Run::new().trained();
    let folder = run.dir.path().join("mlflow-model");
    let exported = run.json(&["export", "--format", "mlflow", "-o", path(&folder)]);
    assert_eq!(exported["format"], "mlflow");
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "MLmodel",
            "conda.yaml",
            "model.onnx",
            "python_env.yaml",
            "requirements.txt"
        ]
    );
    let mlmodel = std::fs::read_to_string(folder.join("MLmodel")).unwrap();
    for needed in [
        "loader_module: mlflow.onnx",
        "data: model.onnx",
        r#"\"name\":\"MedInc\",\"required\":true,\"type\":\"double\""#,
        r#"\"dtype\":\"float64\",\"shape\":[-1,1]"#,
        "\"cali_reg_version\": ",
    ] {
        assert!(
            mlmodel.contains(needed),
            "MLmodel lacks {needed}:\n{mlmodel}"
        );
    }
    let requirements = std::fs::read_to_string(folder.join("requirements.txt")).unwrap();
    assert!(requirements.contains("onnxruntime"), "{requirements}");
    // The folder's model is the ONNX file `export` writes.
    let file = run.dir.path().join("model.onnx");
    run.ok(&["export", "-o", path(&file)]);
    assert_eq!(
        std::fs::read(folder.join("model.onnx")).unwrap(),
        std::fs::read(&file).unwrap()
    );
    // A second export into the folder is refused in one line, and leaves nothing behind.
    let (code, stderr) = run.fail(&["export", "--format", "mlflow", "-o", path(&folder)]);
    assert_eq!((code, stderr.lines().count()), (1, 1), "{stderr}");
    assert!(stderr.contains("exists and is not empty"), "{stderr}");
    let leftovers: Vec<String> = std::fs::read_dir(run.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("cali-reg-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A file in the folder's place is refused the same way, and no staging folder is left.
    let file = run.dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let (code, stderr) = run.fail(&["export", "--format", "mlflow", "-o", path(&file)]);
    assert_eq!((code, stderr.lines().count()), (1, 1), "{stderr}");
    let leftovers = std::fs::read_dir(run.dir.path())
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().contains("cali-reg-tmp")
        })
        .count();
    assert_eq!(leftovers, 0);
}
