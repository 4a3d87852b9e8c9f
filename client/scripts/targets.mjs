// The VS Code target platforms torchmode ships a .vsix for, and what each one bundles.
//
// Every bundled library is pure Python except libcst's native parser (and PyYAML, a
// libcst dependency whose C accelerator is dropped), so a target is: a wheel platform
// tag for `pip install --platform`, the CPython versions covered, the marker
// environment its dependencies are resolved in, and what its native modules must be
// (file format and machine, checked in the built .vsix by tests/shipping/).
//
// Per-target decisions (tested in tests/shipping/):
// - darwin-x64: libcst 1.9.0 has no Intel macOS wheels; 1.8.6 has macosx_10_13_x86_64
//   ones for CPython 3.10-3.14, and torchmode's fixes are the same with it.
// - PyYAML / pyyaml-ft (libcst dependencies) are left out everywhere: only libcst.tool,
//   the codemod command line, imports yaml, and torchmode never does. Without them
//   win32-arm64 covers CPython 3.10-3.14 too (PyYAML has win_arm64 wheels only for 3.12+,
//   libcst for all five).

export const ALL_PYTHONS = ['3.10', '3.11', '3.12', '3.13', '3.14'];

/** Distributions never bundled (see above). */
export const EXCLUDED = ['pyyaml', 'pyyaml-ft'];

const linux = (machine, libc) => ({
  sys_platform: 'linux', platform_system: 'Linux', os_name: 'posix', platform_machine: machine, libc,
});
const darwin = (machine) => ({ sys_platform: 'darwin', platform_system: 'Darwin', os_name: 'posix', platform_machine: machine });
const win = (machine) => ({ sys_platform: 'win32', platform_system: 'Windows', os_name: 'nt', platform_machine: machine });

/**
 * target -> { platformTag, pythons, pins, env, binary }
 * pins: requirement overrides ({libcst: '1.8.6'}); binary: { format, machine } of every
 * native module inside (ELF/Mach-O/PE; machine names as tests/shipping/binaries.py says).
 */
export const TARGETS = {
  'linux-x64': {
    platformTag: 'manylinux_2_28_x86_64', pythons: ALL_PYTHONS, pins: {},
    env: linux('x86_64', 'glibc'), binary: { format: 'ELF', machine: 'x86_64' },
  },
  'linux-arm64': {
    platformTag: 'manylinux_2_28_aarch64', pythons: ALL_PYTHONS, pins: {},
    env: linux('aarch64', 'glibc'), binary: { format: 'ELF', machine: 'arm64' },
  },
  'alpine-x64': {
    platformTag: 'musllinux_1_2_x86_64', pythons: ALL_PYTHONS, pins: {},
    env: linux('x86_64', 'musl'), binary: { format: 'ELF', machine: 'x86_64' },
  },
  'darwin-x64': {
    platformTag: 'macosx_11_0_x86_64', pythons: ALL_PYTHONS, pins: { libcst: '1.8.6' },
    env: darwin('x86_64'), binary: { format: 'Mach-O', machine: 'x86_64' },
  },
  'darwin-arm64': {
    platformTag: 'macosx_11_0_arm64', pythons: ALL_PYTHONS, pins: {},
    env: darwin('arm64'), binary: { format: 'Mach-O', machine: 'arm64' },
  },
  'win32-x64': {
    platformTag: 'win_amd64', pythons: ALL_PYTHONS, pins: {},
    env: win('AMD64'), binary: { format: 'PE', machine: 'x86_64' },
  },
  'win32-arm64': {
    platformTag: 'win_arm64', pythons: ALL_PYTHONS, pins: {},
    env: win('ARM64'), binary: { format: 'PE', machine: 'arm64' },
  },
};

/** The target of the machine this runs on (alpine when Node itself is linked against musl). */
export function hostTarget() {
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  if (process.platform === 'linux') {
    const musl = !process.report?.getReport?.()?.header?.glibcVersionRuntime;
    return musl ? 'alpine-x64' : `linux-${arch}`;
  }
  if (process.platform === 'darwin') return `darwin-${arch}`;
  if (process.platform === 'win32') return `win32-${arch}`;
  throw new Error(`no .vsix target for ${process.platform}-${process.arch}: build the universal one (--universal)`);
}
