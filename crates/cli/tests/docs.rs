//! The documents' shell examples, run as written and compared with what they show.
//!
//! Each ```` ```console ```` block of `README.md` and `docs/GUIDE.md` is a session: a line
//! `$ command` (continued by a trailing `\` or an open single quote) runs in `sh` in a working folder of the
//! document's own, with the built `cali-reg` first on `PATH` and the data set in
//! `CALI_REG_DATA`, and the lines up to the next `$` are what it prints: standard output, then
//! standard error, compared by snapbox (`[..]` stands for any text in a line, `...` on a line of
//! its own for any lines). A command must succeed unless what it shows starts with `error:`. A
//! command ending in `&` is started in the background (a server): the next command waits until
//! its `--port` (8080 by default) accepts connections, and it is stopped when the document ends.
//!
//! Why not trycmd: it runs one registered binary without a shell, so it cannot run `curl`
//! against a server in the background, or pipe and redirect as the examples do.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use snapbox::IntoData;

use crate::support::data_path;

/// One `$` command and what the document shows it printing.
#[derive(Debug)]
struct Example {
    line: usize,
    command: String,
    shown: String,
}

/// The examples of every ```` ```console ```` block of `text`, in order.
fn examples(text: &str) -> Vec<Example> {
    let mut examples: Vec<Example> = Vec::new();
    let mut in_block = false;
    let mut continued = false;
    for (i, line) in text.lines().enumerate() {
        if !in_block {
            in_block = line.trim_end() == "```console";
            continue;
        }
        if line.trim_end() == "```" {
            in_block = false;
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ") {
            examples.push(Example {
                line: i + 1,
                command: command.to_owned(),
                shown: String::new(),
            });
            continued = continues(command);
        } else if let Some(last) = examples.last_mut() {
            if continued {
                last.command.push('\n');
                last.command.push_str(line);
                continued = continues(&last.command);
            } else {
                last.shown.push_str(line);
                last.shown.push('\n');
            }
        }
    }
    examples
}

/// Whether a command goes on in the next line: a trailing `\\`, or a single quote left open.
fn continues(command: &str) -> bool {
    command.ends_with('\\') || command.matches('\'').count() % 2 == 1
}

/// Servers started by a document, stopped when it ends.
struct Background(Vec<Child>);

impl Drop for Background {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The port a server command listens on: its `--port`, else `cali-reg serve`'s default.
fn port_of(command: &str) -> u16 {
    let words: Vec<&str> = command.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[0] == "--port")
        .and_then(|w| w[1].parse().ok())
        .unwrap_or(8080)
}

fn wait_for_port(port: u16, command: &str) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "`{command}` did not listen on 127.0.0.1:{port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Run the examples of the document at `relative` (from the workspace root); every difference,
/// with its line, in one failure.
fn run_document(relative: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join(relative)).unwrap();
    let examples = examples(&text);
    assert!(!examples.is_empty(), "{relative} has no console examples");
    let work = tempfile::tempdir().unwrap();
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_cali-reg"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let shell = |command: &str| {
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(command)
            .current_dir(work.path())
            .env("PATH", &path)
            .env("CALI_REG_DATA", data_path())
            // Never a download: the data set is named above.
            .env("CALI_REG_DATA_URL", "http://127.0.0.1:9/none");
        // Never the user's MLflow server.
        for name in crate::support::MLFLOW_VARIABLES {
            sh.env_remove(name);
        }
        sh
    };
    let mut background = Background(Vec::new());
    let mut waiting: Option<(u16, String)> = None;
    let mut failures = Vec::new();
    for example in &examples {
        if let Some((port, command)) = waiting.take() {
            wait_for_port(port, &command);
        }
        let where_ = format!("{relative}:{}: `{}`", example.line, example.command);
        if let Some(server) = example.command.strip_suffix('&') {
            let child = shell(server.trim_end())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("{where_}: {e}"));
            background.0.push(child);
            waiting = Some((port_of(server), example.command.clone()));
            continue;
        }
        let output = shell(&example.command)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{where_}: {e}"));
        let mut printed = String::from_utf8_lossy(&output.stdout).into_owned();
        // A last line without its newline (curl's answers) is shown as a line.
        if !printed.is_empty() && !printed.ends_with('\n') {
            printed.push('\n');
        }
        printed.push_str(&String::from_utf8_lossy(&output.stderr));
        if !output.status.success() && !example.shown.starts_with("error:") {
            failures.push(format!("{where_} failed ({}):\n{printed}", output.status));
            continue;
        }
        let result = snapbox::Assert::new().try_eq(
            Some(&where_),
            printed.into_data(),
            example.shown.clone().into_data(),
        );
        if let Err(e) = result {
            failures.push(e.to_string());
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} examples in {relative} print something else than the document shows \
         (change the document or the command):\n\n{}",
        failures.len(),
        examples.len(),
        failures.join("\n\n")
    );
}

#[test]
fn readme_examples_print_what_they_show() {
    run_document("README.md");
}

#[test]
fn guide_examples_print_what_they_show() {
    run_document("docs/GUIDE.md");
}

#[test]
fn examples_are_read_with_continuations_and_output() {
    let text = "x\n```console\n$ a \\\n  b\nout 1\nout 2\n$ c &\n$ d '{\n}'\n```\n```sh\n$ not this\n```\n";
    let found = examples(text);
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0].command, "a \\\n  b");
    assert_eq!(found[0].shown, "out 1\nout 2\n");
    assert_eq!((found[1].line, found[1].command.as_str()), (7, "c &"));
    assert_eq!(
        (found[2].command.as_str(), found[2].shown.as_str()),
        ("d '{\n}'", "")
    );
    assert_eq!(port_of("cali-reg serve --port 9000"), 9000);
}
