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
        },
    )
    .unwrap();
    assert_eq!(all.x.ncols(), 8);
    assert_eq!(all.feature_names()[0], "longitude");
}
