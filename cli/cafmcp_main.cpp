// The cafmcp binary.

#include "cli/app.hpp"

int main(int argc, char** argv) {
  return cafmcp::cli::run(argc, argv);
}
