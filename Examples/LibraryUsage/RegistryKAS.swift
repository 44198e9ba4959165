// The README's "Key management" example, compiled by every build and run by the CLI tests
// (`rewrap-examples registry`). Keep the README's code block identical to the marked region.
import RewrapEngine
import RewrapProviders
import RewrapRegistry
import RewrapRegistrySQLite

// README: registry example begin
/// A KAS's start-up over the key registry: the engine, and the key managers to shut down at exit.
func makeRegistryEngine(database: String, rootKeyHex: String) throws -> (RewrapEngine, ProviderKeyManagers) {
    let store = try SQLiteKeyStore(path: database)
    // The managers the registry's provider configs name (the root key for CONFIG_ROOT_KEY keys,
    // a KMS client per opentdf.io/aws provider), built and checked once.
    let providers = try ProviderKeyManagers.build(store: store, rootKey: try RootKey(hex: rootKeyHex))
    let keys = RegistryKeySource(store: store, managers: providers.managers)   // cached-reference
    return (RewrapEngine(keys: keys, authorizer: MyPDP()), providers)
}
// README: registry example end
