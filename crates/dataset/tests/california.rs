//! The real data: shape, first row, and the same rows from every format.

use approx::assert_relative_eq;
use dataset::{Locator, Origin, Spec, california, load, load_path};

use crate::support::{archive, data_path, raw_data_lines, scratch_file};

#[test]
fn loads_california_through_the_environment() {
    let path = data_path();
    let located = Locator {
        path: None,
        env_path: Some(path.clone()),
        cache_dir: None,
        url: String::new(),
        sha256: String::new(),
        timeout: std::time::Duration::from_secs(1),
    }
    .locate()
    .unwrap();
    assert_eq!(located.origin, Origin::Environment);
    let table = load(&located, &Spec::default()).unwrap();
    assert_eq!((table.x.nrows(), table.x.ncols()), (20_640, 8));
    assert_eq!(table.feature_names(), california::FEATURE_NAMES);
    let first = [
        8.3252,
        41.0,
        6.984126984126984,
        1.0238095238095237,
        322.0,
        2.5555555555555554,
        37.88,
        -122.23,
    ];
    for (got, want) in table.x.row(0).iter().zip(first) {
        assert_relative_eq!(*got, want, max_relative = 1e-12);
    }
    assert_relative_eq!(table.y[0], 4.526, max_relative = 1e-12);
    assert_eq!(table.sha256.len(), 64);
}

#[test]
fn csv_data_and_archive_give_identical_rows() {
    let csv = load_path(&data_path(), &Spec::default()).unwrap();
    let lines = raw_data_lines();
    let (_d1, data) = scratch_file("cal_housing.data", lines.as_bytes());
    let (_d2, tgz) = scratch_file("cal_housing.tgz", &archive(lines.as_bytes()));
    for path in [data, tgz] {
        let other = load_path(&path, &Spec::default()).unwrap();
        assert_eq!(other.x, csv.x, "{}", path.display());
        assert_eq!(other.y, csv.y, "{}", path.display());
    }
}

#[test]
fn a_users_table_with_a_named_target() {
    let path = data_path();
    let spec = Spec {
        target: Some(String::from("median_house_value")),
        features: Some(vec![
            String::from("median_income"),
            String::from("households"),
        ]),
        weight: None,
    };
    let table = load_path(&path, &spec).unwrap();
    assert_eq!(table.feature_names(), ["median_income", "households"]);
    assert_eq!(table.x[(0, 0)], 8.3252);
    assert_eq!(table.y[0], 452_600.0);
    // Without a feature list, every other column is a feature.
    let all = load_path(
        &path,
        &Spec {
            target: Some(String::from("median_house_value")),
            features: None,
            weight: None,
        },
    )
    .unwrap();
    assert_eq!(all.x.ncols(), 8);
    assert_eq!(all.feature_names()[0], "longitude");
}

#[test]
fn picked_rows_equal_the_loaded_tables_rows() {
    let path = data_path();
    let located = dataset::Located {
        path: path.clone(),
        origin: Origin::Argument,
    };
    let table = load_path(&path, &Spec::default()).unwrap();
    // Out of order, repeated, and the very last row: each as the whole load reads it.
    let rows = [20_639, 3, 0, 3, 17_000];
    let picked = dataset::pick_rows(&located, &Spec::default(), &rows).unwrap();
    let (x, y) = table.select(&rows);
    assert_eq!(picked.x, x);
    assert_eq!(picked.y, y);
    assert_eq!(picked.raw_columns, california::RAW_COLUMNS);
    assert_eq!(picked.raw[1], picked.raw[3]);
    assert_relative_eq!(picked.raw[2][0], -122.23);

    // Blank lines do not count as rows; a row past the end is named.
    let (_dir, blank) = scratch_file("blank.csv", b"y,a\n\n1,2\n  \n3,4\n");
    let spec = Spec {
        target: Some(String::from("y")),
        features: None,
        weight: None,
    };
    let located = dataset::Located {
        path: blank,
        origin: Origin::Argument,
    };
    let picked = dataset::pick_rows(&located, &spec, &[1]).unwrap();
    assert_eq!(picked.y.as_slice(), [3.0]);
    let err = dataset::pick_rows(&located, &spec, &[0, 2]).unwrap_err();
    assert!(
        err.to_string().ends_with("blank.csv: no data row 2"),
        "{err}"
    );
}

/// A file of many chunks (past the size read whole on one thread), with blank lines between
/// rows: every row where the text puts it, the target apart.
#[test]
fn a_table_of_many_chunks_is_read_whole_and_in_order() {
    let (rows, width) = (250_000, 4);
    let mut text = String::from("a,b,c,y\n");
    let mut want: Vec<Vec<f64>> = Vec::new();
    for r in 0..rows {
        let row: Vec<String> = (0..width)
            .map(|c| format!("{:.5}", ((r * 7 + c * 13) % 1000) as f64 / 7.0 - 50.0))
            .collect();
        want.push(row.iter().map(|v| v.parse().unwrap()).collect());
        text.push_str(&row.join(","));
        text.push_str(if r % 997 == 0 { "\n\n" } else { "\n" });
    }
    assert!(
        text.len() > 2 * (4 << 20),
        "{} bytes: too few chunks",
        text.len()
    );
    let (_dir, path) = scratch_file("many.csv", text.as_bytes());
    let spec = Spec {
        target: Some(String::from("y")),
        features: None,
        weight: None,
    };
    let table = load_path(&path, &spec).unwrap();
    assert_eq!((table.x.nrows(), table.x.ncols()), (rows, width - 1));
    for (r, row) in want.iter().enumerate() {
        let got: Vec<f64> = table.x.row(r).iter().copied().collect();
        assert_eq!(got, row[..width - 1], "row {r}");
        assert_eq!(table.y[r], row[width - 1], "row {r}");
    }
}
