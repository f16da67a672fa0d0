package keyring

// DeploymentSeed returns 16 bytes that every keyring with the same primary key computes alike and
// that reveal nothing about the key (one block of AES under the primary key, a pseudorandom
// function value): it tells deployments apart where ids must be both agreed between the instances
// of one deployment and distinct across deployments (token key ids). The block is that of the GCM
// nonce 0, which Seal never uses (its nonces are random); the tag is not returned.
func (k *Keyring) DeploymentSeed() []byte {
	aead := k.aeads[k.primary]
	var nonce [nonceSize]byte
	var zero [16]byte
	out := aead.Seal(nil, nonce[:], zero[:], nil)
	return out[:16]
}
