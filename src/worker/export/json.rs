//! JSON: the document model as is (lossless: [`from_json`] reads back an equal document).

use crate::worker::document::Document;

/// The document as compact JSON.
pub fn to_json(doc: &Document) -> String {
    // The model holds only strings, numbers, booleans, options and vectors: serialising it
    // cannot fail; should it ever, the output says so as JSON rather than panicking.
    serde_json::to_string(doc).unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()))
}

/// Reads a document back from [`to_json`]'s output.
pub fn from_json(json: &str) -> Result<Document, serde_json::Error> {
    serde_json::from_str(json)
}
