import ArgumentParser
import RewrapRegistry

struct Providers: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Key provider configs: which key manager handles PROVIDER_ROOT_KEY and REMOTE keys.",
        subcommands: [AddProvider.self, ListProviders.self])
}

struct AddProvider: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add a provider config.",
        discussion: "Example:\n  rewrap providers add --name aws --manager opentdf.io/aws --config '{\"region\":\"us-east-1\"}'")
    @OptionGroup var registry: RegistryOptions
    @Option(help: "Unique name.") var name: String
    @Option(help: "Manager that handles its keys, e.g. opentdf.io/aws.") var manager: String
    @Option(help: "Manager-specific JSON.") var config = "{}"
    func run() throws {
        try registry.withStore { store in
            let created = try store.createProvider(ProviderConfig(name: name, manager: manager, configJSON: config))
            print("added provider \(created.name) (\(created.manager))")
        }
    }
}

struct ListProviders: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List provider configs.")
    @OptionGroup var registry: RegistryOptions
    func run() throws {
        try registry.withStore { store in
            Output.list(try store.providers(), json: registry.json, header: ["NAME", "MANAGER", "CONFIG"]) {
                [$0.name, $0.manager, $0.configJSON]
            }
        }
    }
}
