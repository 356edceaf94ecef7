//! The California Housing layout and scikit-learn's derivation of its features.

use recipe::{FeatureSpec, Recipe, TargetSpec};

/// The raw census columns, in the order of `cal_housing.data`.
pub const RAW_COLUMNS: [&str; 9] = [
    "longitude",
    "latitude",
    "housing_median_age",
    "total_rooms",
    "total_bedrooms",
    "population",
    "households",
    "median_income",
    "median_house_value",
];

/// The features of `fetch_california_housing`, in its order.
pub const FEATURE_NAMES: [&str; 8] = [
    "MedInc",
    "HouseAge",
    "AveRooms",
    "AveBedrms",
    "Population",
    "AveOccup",
    "Latitude",
    "Longitude",
];

/// The target's name.
pub const TARGET_NAME: &str = "MedHouseVal";

/// scikit-learn's derivation: three ratios over `households`, target in units of 100,000.
pub fn recipe() -> Recipe {
    let column = |name: &str, col: &str| FeatureSpec {
        name: name.to_owned(),
        column: col.to_owned(),
        divided_by: None,
    };
    let per_household = |name: &str, col: &str| FeatureSpec {
        name: name.to_owned(),
        column: col.to_owned(),
        divided_by: Some(String::from("households")),
    };
    Recipe {
        features: vec![
            column("MedInc", "median_income"),
            column("HouseAge", "housing_median_age"),
            per_household("AveRooms", "total_rooms"),
            per_household("AveBedrms", "total_bedrooms"),
            column("Population", "population"),
            per_household("AveOccup", "population"),
            column("Latitude", "latitude"),
            column("Longitude", "longitude"),
        ],
        target: TargetSpec {
            name: TARGET_NAME.to_owned(),
            column: String::from("median_house_value"),
            divisor: 100_000.0,
        },
    }
}
