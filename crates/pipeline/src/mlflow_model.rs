//! An MLflow model folder around an ONNX file, as `mlflow.onnx.save_model` lays one out:
//! `MLmodel` (the `onnx` and `python_function` flavours, a signature of named float64 columns
//! and a float64 `[-1, 1]` tensor out, cali-reg's metadata), `model.onnx`, and the environment
//! files MLflow writes (`conda.yaml`, `python_env.yaml`, `requirements.txt`). Written into a
//! sibling temporary folder and renamed into place, so a reader never sees half a folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The model file's name inside the folder.
pub const MODEL_FILE: &str = "model.onnx";

/// The Python packages the folder's model needs to load (`mlflow.onnx`'s own list).
const REQUIREMENTS: [&str; 4] = ["mlflow>=2.10", "numpy", "onnx>=1.14", "onnxruntime>=1.16"];

/// The files of a model folder holding `onnx` (a model taking `columns` as float64), by name;
/// `logged`: the MLflow run it is logged to and its path among the run's artifacts, written
/// into `MLmodel` as MLflow's `log_model` does.
pub fn files(
    onnx: &[u8],
    columns: &[String],
    metadata: &BTreeMap<String, String>,
    logged: Option<(&str, &str)>,
) -> Vec<(&'static str, Vec<u8>)> {
    let requirements: String = REQUIREMENTS.iter().map(|r| format!("{r}\n")).collect();
    let conda = format!(
        "channels:\n- conda-forge\ndependencies:\n- python>=3.9\n- pip\n- pip:\n{}name: mlflow-env\n",
        REQUIREMENTS
            .iter()
            .map(|r| format!("  - {r}\n"))
            .collect::<String>()
    );
    let python_env = "python: '3.11'\nbuild_dependencies:\n- pip\n- setuptools\n- wheel\ndependencies:\n- -r requirements.txt\n";
    let mut files = vec![
        (MODEL_FILE, onnx.to_vec()),
        ("requirements.txt", requirements.into_bytes()),
        ("conda.yaml", conda.into_bytes()),
        ("python_env.yaml", python_env.as_bytes().to_vec()),
    ];
    let size: usize = files.iter().map(|(_, bytes)| bytes.len()).sum();
    let mlmodel = mlmodel(columns, metadata, size as u64, logged);
    files.push(("MLmodel", mlmodel.into_bytes()));
    files
}

/// Write the folder `dir` holding `files`; their total size.
pub fn write_folder(dir: &Path, files: &[(&'static str, Vec<u8>)]) -> Result<u64> {
    // Anything there but an empty folder (a file, a folder with files) is in the way.
    let empty_folder = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none());
    if dir.symlink_metadata().is_ok() && !empty_folder {
        return Err(Error::FolderExists {
            path: dir.to_path_buf(),
        });
    }
    let staging = staging_path(dir);
    let _ = std::fs::remove_dir_all(&staging);
    let written = fill_and_rename(&staging, dir, files);
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    written
}

/// Write the files into `staging`, then rename it to `dir`.
fn fill_and_rename(staging: &Path, dir: &Path, files: &[(&'static str, Vec<u8>)]) -> Result<u64> {
    std::fs::create_dir_all(staging).map_err(|cause| Error::Write {
        what: staging.display().to_string(),
        cause,
    })?;
    let mut size: u64 = 0;
    for (name, bytes) in files {
        std::fs::write(staging.join(name), bytes).map_err(|cause| Error::Write {
            what: staging.join(name).display().to_string(),
            cause,
        })?;
        size += bytes.len() as u64;
    }
    // An empty folder in the way (MLflow's own check allows it) is replaced.
    let _ = std::fs::remove_dir(dir);
    std::fs::rename(staging, dir).map_err(|cause| Error::Rename {
        from: staging.to_path_buf(),
        to: dir.to_path_buf(),
        cause,
    })?;
    Ok(size)
}

/// `.NAME.cali-reg-tmp-PID` beside the folder.
fn staging_path(dir: &Path) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| String::from("model"));
    dir.with_file_name(format!(".{name}.cali-reg-tmp-{}", std::process::id()))
}

/// The `MLmodel` file: YAML, whose strings are written as JSON strings (YAML reads them alike).
fn mlmodel(
    columns: &[String],
    metadata: &BTreeMap<String, String>,
    size: u64,
    logged: Option<(&str, &str)>,
) -> String {
    let quote = |text: &str| serde_json::Value::from(text).to_string();
    let inputs: Vec<serde_json::Value> = columns
        .iter()
        .map(|c| serde_json::json!({"type": "double", "name": c, "required": true}))
        .collect();
    let outputs = serde_json::json!([
        {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 1]}}
    ]);
    let mut text = match logged {
        Some((run, path)) => format!("artifact_path: {}\nrun_id: {}\n", quote(path), quote(run)),
        None => String::new(),
    };
    text += &format!(
        "flavors:\n  onnx:\n    code: null\n    data: {MODEL_FILE}\n    onnx_version: 1.14.0\n    \
         providers:\n    - CPUExecutionProvider\n  python_function:\n    data: {MODEL_FILE}\n    \
         env:\n      conda: conda.yaml\n      virtualenv: python_env.yaml\n    \
         loader_module: mlflow.onnx\n    python_version: '3.11'\n\
         model_size_bytes: {size}\nsignature:\n  inputs: {}\n  outputs: {}\n  params: null\n\
         metadata:\n",
        quote(&serde_json::Value::from(inputs).to_string()),
        quote(&outputs.to_string()),
    );
    for (key, value) in metadata {
        text.push_str(&format!("  {}: {}\n", quote(key), quote(value)));
    }
    text
}
