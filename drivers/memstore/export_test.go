package memstore

// CorruptBlob flips the bits of the first byte of a stored payload, keeping
// its size and modification time, for the conformance harness
// (conformance.Harness.CorruptBlob).
func CorruptBlob(d *Driver, key string) error {
	data, err := d.blobData(key)
	if err != nil {
		return err
	}
	data[0] ^= 0xff
	return d.replaceBlobData(key, data)
}
