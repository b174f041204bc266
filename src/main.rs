fn main() -> std::process::ExitCode {
    bai_manager::cli::main()
}
