//! Where each value of a JSON document starts, by JSON pointer, so that a definition's errors
//! name the line and column to fix. The text has already been parsed by serde_json, so this
//! scanner only walks valid JSON.

use std::collections::HashMap;

/// Line and column (both from 1) of every value, keyed by JSON pointer (`/components/1/text`).
#[derive(Debug, Default)]
pub struct Spans {
    at: HashMap<String, (usize, usize)>,
}

impl Spans {
    /// Scans `text`, which must be valid JSON.
    pub fn of(text: &str) -> Spans {
        let mut s = Scanner {
            b: text.as_bytes(),
            i: 0,
            line: 1,
            col: 1,
            spans: Spans::default(),
        };
        s.value(String::new());
        s.spans
    }

    /// The position of the value at `pointer`, else of its closest ancestor that has one.
    pub fn find(&self, pointer: &str) -> (usize, usize) {
        let mut p = pointer;
        loop {
            if let Some(at) = self.at.get(p) {
                return *at;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return (1, 1),
            }
        }
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    line: usize,
    col: usize,
    spans: Spans,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn bump(&mut self) {
        if let Some(c) = self.peek() {
            self.i += 1;
            if c == b'\n' {
                self.line += 1;
                self.col = 1;
            } else if c & 0xC0 != 0x80 {
                // Columns count characters, not UTF-8 continuation bytes.
                self.col += 1;
            }
        }
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.bump();
        }
    }

    fn value(&mut self, path: String) {
        self.ws();
        self.spans.at.insert(path.clone(), (self.line, self.col));
        match self.peek() {
            Some(b'{') => {
                self.bump();
                loop {
                    self.ws();
                    match self.peek() {
                        Some(b'}') | None => {
                            self.bump();
                            return;
                        }
                        Some(b',') => self.bump(),
                        Some(b'"') => {
                            let key = self.string();
                            self.ws();
                            self.bump(); // ':'
                            let escaped = key.replace('~', "~0").replace('/', "~1");
                            self.value(format!("{path}/{escaped}"));
                        }
                        Some(_) => self.bump(),
                    }
                }
            }
            Some(b'[') => {
                self.bump();
                let mut n = 0;
                loop {
                    self.ws();
                    match self.peek() {
                        Some(b']') | None => {
                            self.bump();
                            return;
                        }
                        Some(b',') => self.bump(),
                        Some(_) => {
                            self.value(format!("{path}/{n}"));
                            n += 1;
                        }
                    }
                }
            }
            Some(b'"') => {
                self.string();
            }
            _ => {
                while matches!(self.peek(), Some(c) if !matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                {
                    self.bump();
                }
            }
        }
    }

    /// Reads a string literal, returning its decoded text.
    fn string(&mut self) -> String {
        let start = self.i;
        self.bump(); // opening quote
        while let Some(c) = self.peek() {
            match c {
                b'\\' => {
                    self.bump();
                    self.bump();
                }
                b'"' => {
                    self.bump();
                    break;
                }
                _ => self.bump(),
            }
        }
        serde_json::from_slice::<String>(&self.b[start..self.i]).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_values_and_falls_back_to_parents() {
        let text = "{\n  \"name\": \"x\",\n  \"components\": [\n    {\"type\": \"BODY\",\n     \"text\": \"é {{1}}\"}\n  ]\n}";
        let s = Spans::of(text);
        assert_eq!(s.find("/name"), (2, 11));
        assert_eq!(s.find("/components/0"), (4, 5));
        assert_eq!(s.find("/components/0/text"), (5, 14));
        assert_eq!(s.find("/components/0/example/body_text"), (4, 5));
    }
}
