//! A reader of the protobuf wire format: fields as (number, value) pairs, with no schema.
//!
//! [`crate::protojson`] pairs what this reads with the API's descriptors.

/// One field's value as encoded on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire<'a> {
    /// Wire type 0: int32, int64, uint32, uint64, sint32, sint64, bool, enum.
    Varint(u64),
    /// Wire type 1: fixed64, sfixed64, double.
    Fixed64(u64),
    /// Wire type 2: string, bytes, a message, or a packed repeated scalar.
    Len(&'a [u8]),
    /// Wire type 5: fixed32, sfixed32, float.
    Fixed32(u32),
}

/// Reads fields from an encoded message.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next field, or `None` at the end of the message.
    pub(crate) fn field(&mut self) -> Result<Option<(u64, Wire<'a>)>, String> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let wire = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => Wire::Fixed64(self.fixed64()?),
            2 => {
                let len = self.varint()?;
                Wire::Len(self.take(len)?)
            }
            5 => Wire::Fixed32(self.fixed32()?),
            other => return Err(format!("unsupported wire type {other}")),
        };
        Ok(Some((key >> 3, wire)))
    }

    /// A base-128 varint.
    pub(crate) fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.buf.split_first().ok_or("truncated varint")?;
            self.buf = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err("varint longer than 10 bytes".to_owned())
    }

    /// A little-endian 64-bit value.
    pub(crate) fn fixed64(&mut self) -> Result<u64, String> {
        let bytes = self.take(8)?;
        let array: [u8; 8] = bytes.try_into().map_err(|_| "truncated fixed64")?;
        Ok(u64::from_le_bytes(array))
    }

    /// A little-endian 32-bit value.
    pub(crate) fn fixed32(&mut self) -> Result<u32, String> {
        let bytes = self.take(4)?;
        let array: [u8; 4] = bytes.try_into().map_err(|_| "truncated fixed32")?;
        Ok(u32::from_le_bytes(array))
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], String> {
        let len = usize::try_from(len).map_err(|_| "field too long")?;
        let (head, rest) = self.buf.split_at_checked(len).ok_or("truncated field")?;
        self.buf = rest;
        Ok(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_varint_and_length_delimited_fields() {
        // field 1 varint 300, field 2 "hi", field 15 varint 1
        let bytes = [0x08, 0xac, 0x02, 0x12, 0x02, b'h', b'i', 0x78, 0x01];
        let mut reader = Reader::new(&bytes);
        assert_eq!(reader.field().unwrap(), Some((1, Wire::Varint(300))));
        assert_eq!(reader.field().unwrap(), Some((2, Wire::Len(b"hi"))));
        assert_eq!(reader.field().unwrap(), Some((15, Wire::Varint(1))));
        assert_eq!(reader.field().unwrap(), None);
    }

    #[test]
    fn truncated_input_is_an_error() {
        assert!(Reader::new(&[0x12, 0x05, b'a']).field().is_err());
        assert!(Reader::new(&[0x08, 0x80]).field().is_err());
    }
}
