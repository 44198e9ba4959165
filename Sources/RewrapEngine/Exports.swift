// A KAS that links the engine gets the wire model (requests, responses) and the key types
// with one `import RewrapEngine`.
@_exported import RewrapCrypto
@_exported import RewrapWire
