//! `credence`: the command-line program, a thin layer over the `credence` library.

mod bench;
mod bench_calibrate;
mod bench_shift;
mod class_prior;
mod cli;
mod decide;
mod demo;
mod elicit;
mod explain;
mod interrupt;
mod io;
mod progress;
mod report;
mod train;

use clap::Parser;

fn main() {
    interrupt::install();
    let args = cli::Cli::parse();
    if let Err(e) = run(args) {
        // An interruption may make the work in hand fail (its files removed): the handler
        // reports it and ends the process.
        interrupt::wait_if_requested();
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(args: cli::Cli) -> anyhow::Result<()> {
    use cli::Command;
    match args.command {
        Command::Demo(a) => demo::run(&a),
        Command::Fit(a) => train::fit(&a),
        Command::Predict(a) => train::predict(&a),
        Command::Evaluate(a) => train::evaluate(&a),
        Command::Decide(a) => decide::run(&a),
        Command::Split(a) => io::split(&a),
        Command::Report(a) => report::run(&a),
        Command::Bench(b) => bench::run(b),
        Command::Bayes(a) => explain::bayes(&a),
        Command::PriorCheck(a) => explain::prior_check(&a),
        Command::Sensitivity(a) => explain::sensitivity(&a),
        Command::Curve(a) => explain::curve(&a),
        Command::Elicit(a) => elicit::run(&a),
    }
}
