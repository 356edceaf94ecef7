//! `text/csv` bodies, read by the same rules as every CSV file (header, quotes, blank lines),
//! into the same rows as JSON bodies.

use crate::body::Decoded;
use crate::error::ApiError;

/// A CSV body, read by the same rules as every CSV file (header, quotes, blank lines).
pub fn from_csv(bytes: &[u8]) -> Result<Decoded, ApiError> {
    let input = dataset::Input::from_bytes("CSV body", bytes.to_vec(), None)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?
        .unhashed();
    let columns = input.columns().to_vec();
    let every = vec![true; columns.len()];
    let mut decoded = Decoded::default();
    input
        .for_each_chunk(
            |chunk| {
                // A row of as many numbers as columns is read by the reader's own parser; any
                // other (a cell that is not a number, a field too many or too few) cell by cell,
                // so that each bad cell is kept with its text for the error naming it.
                let mut numbers = Vec::with_capacity(chunk.line_count() * every.len());
                let mut raw = vec![0.0; every.len()];
                let mut rows = Vec::new();
                for (line, record) in chunk.lines() {
                    if record.parse(&every, &mut raw).is_ok() {
                        numbers.extend_from_slice(&raw);
                        rows.push(CsvRow::Numbers);
                        continue;
                    }
                    let cells = dataset::fields(record.text().unwrap_or_default())
                        .map_err(|p| dataset::Error::at("CSV body", line, &columns, p))?;
                    rows.push(CsvRow::Text(
                        cells
                            .into_iter()
                            .map(|c| String::from_utf8_lossy(&dataset::unquote(c)).into_owned())
                            .collect(),
                    ));
                }
                Ok((numbers, rows))
            },
            |(numbers, rows)| {
                let mut numbers = numbers.chunks_exact(every.len().max(1));
                for row in rows {
                    match row {
                        CsvRow::Numbers => decoded.push_numbers(numbers.next().unwrap_or_default()),
                        CsvRow::Text(cells) => cells.iter().for_each(|c| decoded.push_text(c)),
                    }
                    decoded.end_row();
                }
                Ok(())
            },
        )
        .map_err(|e: dataset::Error| ApiError::BadRequest(e.to_string()))?;
    decoded.columns = Some(columns);
    Ok(decoded)
}

/// A row of a CSV body: all numbers (kept in the chunk's list, in order), or its cells' text.
enum CsvRow {
    Numbers,
    Text(Vec<String>),
}
