//! Every kind of bad input gives its typed error, naming the file, line and column.

use dataset::{Error, Spec, load_path};

use crate::support::{archive, scratch_file};

const HEADER: &str = "longitude,latitude,housing_median_age,total_rooms,total_bedrooms,population,households,median_income,median_house_value";
const ROW: &str = "-122.23,37.88,41.0,880.0,129.0,322.0,126.0,8.3252,452600.0";

fn load_csv(text: &str) -> (String, Error) {
    let (_dir, path) = scratch_file("bad.csv", text.as_bytes());
    let err = load_path(&path, &Spec::default()).unwrap_err();
    (path.display().to_string(), err)
}

fn csv(rows: &[&str]) -> String {
    format!("{HEADER}\n{}\n", rows.join("\n"))
}

#[test]
fn missing_column() {
    let text = format!(
        "{}\n{}\n",
        HEADER.replace(",households", ""),
        ROW.replace(",126.0", "")
    );
    let (file, err) = load_csv(&text);
    assert!(
        matches!(&err, Error::MissingColumns { columns, .. } if columns == &["households"]),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!("{file}:1: missing column households")
    );
}

#[test]
fn extra_column() {
    let text = format!("{HEADER},colour\n{ROW},1\n");
    let (file, err) = load_csv(&text);
    assert!(matches!(&err, Error::ExtraColumns { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("{file}:1: unexpected column colour")
    );
}

#[test]
fn non_numeric_cell() {
    let (file, err) = load_csv(&csv(&[ROW, &ROW.replace("322.0", "lots")]));
    assert!(matches!(&err, Error::NotNumeric { line: 3, .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("{file}:3: column population: \"lots\" is not a number")
    );
}

#[test]
fn nan_and_infinity() {
    for (cell, shown) in [("NaN", "NaN"), ("inf", "inf"), ("-inf", "-inf")] {
        let (file, err) = load_csv(&csv(&[ROW, ROW, &ROW.replace("8.3252", cell)]));
        assert!(matches!(&err, Error::NonFinite { line: 4, .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!("{file}:4: column median_income: {shown} is not finite")
        );
    }
}

#[test]
fn missing_value() {
    let (file, err) = load_csv(&csv(&[&ROW.replace("41.0", "")]));
    assert!(matches!(&err, Error::MissingValue { line: 2, .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("{file}:2: column housing_median_age: missing value")
    );
}

#[test]
fn wrong_field_counts() {
    let (file, err) = load_csv(&csv(&[ROW, &format!("{ROW},7")]));
    assert_eq!(
        err.to_string(),
        format!("{file}:3: expected 9 fields, found 10")
    );
    let (file, err) = load_csv(&csv(&[&ROW.replace(",452600.0", "")]));
    assert!(
        matches!(
            &err,
            Error::FieldCount {
                line: 2,
                found: 8,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().starts_with(&format!("{file}:2:")));
}

#[test]
fn households_must_be_positive() {
    for value in ["0.0", "-3.0"] {
        let (file, err) = load_csv(&csv(&[ROW, &ROW.replace("126.0", value)]));
        assert!(
            matches!(&err, Error::BadDenominator { line: 3, .. }),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "{file}:3: column households: {} must be positive (AveRooms divides by it)",
                value.trim_end_matches(".0")
            )
        );
    }
}

#[test]
fn empty_files() {
    for text in ["", "\n\n", &format!("{HEADER}\n")] {
        let (file, err) = load_csv(text);
        assert!(matches!(&err, Error::Empty { .. }), "{text:?}: {err}");
        assert_eq!(err.to_string(), format!("{file}: no data rows"));
    }
}

#[test]
fn truncated_archive() {
    let data = format!("{ROW}\n").repeat(2000);
    let full = archive(data.as_bytes());
    let (_dir, path) = scratch_file("cut.tgz", &full[..full.len() / 2]);
    let err = load_path(&path, &Spec::default()).unwrap_err();
    assert!(matches!(&err, Error::Archive { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("{}: truncated or damaged archive", path.display())),
        "{message}"
    );
}

#[test]
fn archive_without_the_member() {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    header.set_size(3);
    header.set_cksum();
    builder
        .append_data(&mut header, "other.txt", &b"abc"[..])
        .unwrap();
    let bytes = builder.into_inner().unwrap().finish().unwrap();
    let (_dir, path) = scratch_file("other.tgz", &bytes);
    let err = load_path(&path, &Spec::default()).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("no CaliforniaHousing/cal_housing.data in the archive"),
        "{err}"
    );
}

#[test]
fn a_raw_data_file_with_a_short_line() {
    let text = format!("{ROW}\n{}\n", ROW.replace(",8.3252", ""));
    let (_dir, path) = scratch_file("cal_housing.data", text.as_bytes());
    let err = load_path(&path, &Spec::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}:2: expected 9 fields, found 8", path.display())
    );
}

#[test]
fn user_table_errors() {
    let (_dir, path) = scratch_file("t.csv", b"a,b,y\n1,2,3\n2,1,4\n");
    let spec = |t: &str, f: Option<Vec<&str>>| Spec {
        target: Some(t.to_owned()),
        features: f.map(|f| f.into_iter().map(String::from).collect()),
        weight: None,
    };
    let err = load_path(&path, &spec("z", None)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}:1: missing column z", path.display())
    );
    let err = load_path(&path, &spec("y", Some(vec!["a", "q"]))).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}:1: missing column q", path.display())
    );
    let err = load_path(&path, &spec("y", Some(vec!["a", "y"]))).unwrap_err();
    assert!(
        err.to_string()
            .contains("the target y cannot also be a feature"),
        "{err}"
    );
    let table = load_path(&path, &spec("y", None)).unwrap();
    assert_eq!(table.feature_names(), ["a", "b"]);
}

#[test]
fn no_panic_on_arbitrary_bytes() {
    for bytes in [
        &b"\xff\xfe\x00garbage"[..],
        b"\x1f\x8b",
        b",,,\n,,,\n",
        b"a\n1\n",
        b"\"unterminated\n1,2\n",
    ] {
        let (_dir, path) = scratch_file("junk.csv", bytes);
        assert!(load_path(&path, &Spec::default()).is_err(), "{bytes:?}");
    }
}

#[test]
fn the_crate_graph_points_one_way() {
    // dataset reads tables: it needs the recipe, never the solver or the codec.
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .expect("dataset's manifest");
    let normal = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .expect("a [dependencies] section");
    let names: Vec<&str> = normal
        .lines()
        .filter_map(|l| l.split(['.', ' ', '=']).next())
        .filter(|n| !n.is_empty())
        .collect();
    assert!(names.contains(&"recipe"), "{names:?}");
    // polars only behind the `columnar` feature, which the image's build leaves out.
    let polars = normal
        .lines()
        .find(|l| l.starts_with("polars"))
        .expect("polars, for the columnar formats");
    assert!(polars.contains("optional = true"), "{polars}");
    assert!(
        manifest.contains("columnar = [\"dep:polars\""),
        "{manifest}"
    );
    for forbidden in ["linreg", "quant"] {
        assert!(
            !names.contains(&forbidden),
            "dataset depends on {forbidden}"
        );
    }
}
