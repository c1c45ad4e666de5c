use std::process::ExitCode;

fn main() -> ExitCode {
    valgbord::cli::main()
}
