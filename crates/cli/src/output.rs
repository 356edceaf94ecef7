//! Text formatting shared by the commands; the work itself happens elsewhere.

use serde_json::Value;

/// `[0.719 1.764 2.710]`: three decimals, as the original prints its sample predictions.
pub fn three_decimals(values: &[f64]) -> String {
    let parts: Vec<String> = values.iter().map(|v| format!("{v:.3}")).collect();
    format!("[{}]", parts.join(" "))
}

/// `[0.4486749096657172 -37.02]`: every digit needed to read the value back.
pub fn exact(values: &[f64]) -> String {
    let parts: Vec<String> = values.iter().map(|v| format!("{v}")).collect();
    format!("[{}]", parts.join(" "))
}

/// Print one JSON object on one line.
pub fn json(value: &Value) {
    println!("{value}");
}

/// `1,097` style thousands separators.
#[cfg(feature = "train")]
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(
            three_decimals(&[0.7191, 2.71, -0.0004]),
            "[0.719 2.710 -0.000]"
        );
        assert_eq!(exact(&[0.1, -2e-6]), "[0.1 -0.000002]");
        #[cfg(feature = "train")]
        {
            assert_eq!(thousands(1097), "1,097");
            assert_eq!(thousands(486), "486");
            assert_eq!(thousands(1_234_567), "1,234,567");
        }
    }
}
