import ArgumentParser

/// `serve`: the recommender service.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the recommender service.")

    func run() async throws {
        printError("serve: not yet implemented")
        throw ExitCode(1)
    }
}
