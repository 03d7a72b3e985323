//! The `templar` binary: parse the command line, set up logging, run the command.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator: webhook parsing allocates many small JSON values,
/// and glibc's malloc and free took about a sixth of the server's CPU under webhook load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = templar::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(templar::cli::run(cli)) {
        Ok(code) => code,
        Err(e) if templar::cli::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(templar::cli::exit_code(&e))
        }
    }
}
