#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""``sev-scheduler-status upgrade check``: is this scheduler set up?

Run on a nova-scheduler host, like ``nova-status upgrade check``: it reads
nova.conf (``--config-file``, ``--config-dir``; by default where Nova
looks) with Nova's own option definitions and ours, and asks the same
code nova-scheduler runs when it starts: Nova's filter and weigher
loaders, and the options' validation SEVFilter does. One method per
check; each result says the fix. The exit status is the worst result,
as for every sev-scheduler command (``cmd/base.py``).
"""

import glob
import os
import sys
import warnings

from oslo_config import cfg
from oslo_upgradecheck import upgradecheck

import nova.conf.pci
import nova.conf.scheduler
from nova import objects
from nova.scheduler import filters as nova_filters
from nova.scheduler import weights as nova_weights
from nova import version

from sev_scheduler.cmd import base
from sev_scheduler.cmd import output
from sev_scheduler import conf as sev_conf

SUCCESS = upgradecheck.Code.SUCCESS
WARNING = upgradecheck.Code.WARNING
FAILURE = upgradecheck.Code.FAILURE

#: The exit status when no configuration could be read, as
#: oslo.upgradecheck's for an error: never taken for a check's result.
NOTHING_READ = base.ERROR

EPILOG = ('Exit status: 0 success, 1 warning, 2 failure (the worst '
          'result), %d usage error, %d error (no nova.conf read, or a '
          'check could not run).' % (base.USAGE, base.ERROR))

FILTER = 'sev_scheduler.filters.SEVFilter'
WEIGHER = 'sev_scheduler.weighers.SEVWeigher'

#: The Nova major versions sev-scheduler supports, and their OpenStack
#: releases (doc/source/install/releases.rst; tox envs nova2025.1...).
SUPPORTED_NOVA = {31: '2025.1', 32: '2025.2', 33: '2026.1', 34: '2026.2'}


def _result(code, details):
    return upgradecheck.Result(code, details)


def _load(handler, names):
    """Classes named by an option, as nova-scheduler loads them.

    :returns: (classes, [(name, error)] for names that cannot be loaded)
    """
    classes, broken = [], []
    for name in names:
        try:
            classes.extend(handler.get_matching_classes([name]))
        except Exception as error:
            # oslo.utils wraps a missing class in an ImportError holding a
            # formatted traceback: the error it wraps says it in one line.
            broken.append((name, error.__context__ or error))
    return classes, broken


def _broken(option, broken):
    return _result(FAILURE, '[filter_scheduler] %s: %s; nova-scheduler does '
                   'not start with it: fix or remove %s.' % (
                       option, '; '.join('%s cannot be loaded (%s)'
                                         % (name, error)
                                         for name, error in broken),
                       'it' if len(broken) == 1 else 'them'))


def nova_support(version_string):
    """Whether sev-scheduler supports a Nova version, as a Result."""
    try:
        major = int(version_string.split('.')[0])
    except ValueError:
        return _result(WARNING, 'Nova %s: its release cannot be told from '
                       'the version; supported: Nova %d (%s) to %d (%s).'
                       % ((version_string,) + _supported_range()))
    if major in SUPPORTED_NOVA:
        return _result(SUCCESS, 'Nova %s is OpenStack %s, supported.'
                       % (version_string, SUPPORTED_NOVA[major]))
    oldest, newest = min(SUPPORTED_NOVA), max(SUPPORTED_NOVA)
    if major < oldest:
        return _result(FAILURE, 'Nova %s is older than OpenStack %s (Nova '
                       '%d), the oldest release sev-scheduler supports: '
                       'upgrade Nova, or use the sev-scheduler release '
                       'made for yours.' % (version_string,
                                            SUPPORTED_NOVA[oldest], oldest))
    return _result(WARNING, 'Nova %s is newer than OpenStack %s (Nova %d), '
                   'the newest release this sev-scheduler was tested on: '
                   'install a sev-scheduler release that supports it, or '
                   'test encrypted boots before the upgrade.'
                   % (version_string, SUPPORTED_NOVA[newest], newest))


def _supported_range():
    oldest, newest = min(SUPPORTED_NOVA), max(SUPPORTED_NOVA)
    return oldest, SUPPORTED_NOVA[oldest], newest, SUPPORTED_NOVA[newest]


def _confidential_fix(problem, names, cc_traits, error):
    """What is wrong with aliases of snp_pci_aliases, and the fix."""
    from sev_scheduler import confidential
    listed = '[sev_scheduler] snp_pci_aliases %s' % ', '.join(
        "'%s'" % name for name in names)
    if problem == confidential.PLACEMENT_OFF:
        return ('%s: [filter_scheduler] pci_in_placement is off, so Nova '
                'asks Placement for no device trait: set it to True (and '
                '[pci] report_in_placement on the compute hosts)' % listed)
    if problem == confidential.UNREADABLE:
        return '%s: Nova cannot read [pci] alias (%s): fix it' % (
            listed, error)
    if problem == confidential.UNDEFINED:
        return ('%s: not in [pci] alias: define %s there, or remove %s '
                'from snp_pci_aliases' % (
                    listed, 'it' if len(names) == 1 else 'them',
                    'it' if len(names) == 1 else 'them'))
    if not cc_traits:
        return ('%s: [sev_scheduler] confidential_device_traits is empty: '
                'set it to the trait the [pci] device_spec traits tag gives '
                'the devices in CC mode, and require it in the alias' % listed)
    return ('%s: the [pci] alias requires no trait of [sev_scheduler] '
            'confidential_device_traits (%s): add "traits": "%s" to %s, '
            'and to the [pci] device_spec of the devices in CC mode only'
            % (listed, ', '.join(cc_traits), cc_traits[0],
               'it' if len(names) == 1 else 'each'))


def _escaped(check):
    """A check whose details show control characters (``cmd.output``).

    Details quote nova.conf: its keys and values, the errors of what it
    names.
    """
    def escaped(checks):
        result = check(checks)
        if result.details:
            result.details = output.escape(result.details)
        return result
    return escaped


class Checks(upgradecheck.UpgradeCommands):
    """The checks, on the nova.conf of the scheduler."""

    display_title = 'sev-scheduler Upgrade Check Results'

    def __init__(self, conf):
        super().__init__()
        self.conf = conf

    def check(self):
        # Without a file every check would judge Nova's defaults.
        if not self._config_files():
            print('sev-scheduler-status: no nova.conf found where Nova '
                  'looks for it (~/.nova, ~, /etc/nova, /etc): give '
                  '--config-file', file=sys.stderr)
            return NOTHING_READ
        if not self.conf.command.json:
            # The table is for a terminal; JSON keeps exact values.
            self._upgrade_checks = tuple(
                (name, _escaped(check))
                for name, check in type(self)._upgrade_checks)
        return super().check()

    def _filter_loaded(self):
        """(SEVFilter is among the available filters, broken entries)."""
        from sev_scheduler import filters
        classes, broken = _load(nova_filters.HostFilterHandler(),
                                self.conf.filter_scheduler.available_filters)
        return filters.SEVFilter in classes, broken

    def _check_filter_available(self):
        try:
            available, broken = self._filter_loaded()
        except Exception as error:
            return _result(FAILURE, 'SEVFilter cannot be imported: %s. '
                           'Reinstall sev-scheduler in the environment of '
                           'nova-scheduler.' % error)
        if broken:
            return _broken('available_filters', broken)
        if available:
            return _result(SUCCESS, None)
        enabled = 'SEVFilter' in self.conf.filter_scheduler.enabled_filters
        return _result(
            FAILURE if enabled else WARNING,
            'SEVFilter is not in [filter_scheduler] available_filters%s. Add '
            'a line "available_filters = %s", keeping "available_filters = '
            'nova.scheduler.filters.all_filters".' % (
                ' but enabled_filters names it: nova-scheduler does not '
                'start' if enabled else '', FILTER))

    def _check_filter_enabled(self):
        if 'SEVFilter' in self.conf.filter_scheduler.enabled_filters:
            return _result(SUCCESS, None)
        return _result(
            WARNING, 'SEVFilter is not in [filter_scheduler] '
            'enabled_filters: Nova alone places encrypted guests, and '
            'nothing refuses the requests that cannot work (rebuilds, IDE '
            'or device requests, overcommitted hosts). Add SEVFilter to '
            'enabled_filters.')

    def _check_weigher(self):
        try:
            from sev_scheduler import weighers
        except Exception as error:
            return _result(FAILURE, 'SEVWeigher cannot be imported: %s. '
                           'Reinstall sev-scheduler in the environment of '
                           'nova-scheduler.' % error)
        classes, broken = _load(nova_weights.HostWeightHandler(),
                                self.conf.filter_scheduler.weight_classes)
        if broken:
            return _broken('weight_classes', broken)
        if weighers.SEVWeigher not in classes:
            return _result(
                WARNING, 'SEVWeigher is not in [filter_scheduler] '
                'weight_classes: encrypted guests are not spread by free '
                'slots, and ordinary guests are not kept for last on SEV '
                'hosts. Add %s to weight_classes, after '
                'nova.scheduler.weights.all_weighers.' % WEIGHER)
        group = self.conf.sev_scheduler
        try:
            multipliers = (group.weight_multiplier,
                           group.plain_on_sev_weight_multiplier)
        except ValueError:
            # The options check says what is wrong with them.
            return _result(SUCCESS, None)
        if not any(multipliers):
            return _result(
                WARNING, 'SEVWeigher is configured but [sev_scheduler] '
                'weight_multiplier and plain_on_sev_weight_multiplier are '
                'both 0: it changes nothing. Set them, or remove it from '
                'weight_classes.')
        return _result(SUCCESS, 'weight_multiplier %s, '
                       'plain_on_sev_weight_multiplier %s' % multipliers)

    def _check_options(self):
        bad = self._bad_options()
        unknown = self._unknown_options()
        if not (bad or unknown):
            return _result(SUCCESS, None)
        problems = list(bad)
        if unknown:
            problems.append('%s: no such option%s, ignored (options: %s)' % (
                ', '.join(unknown), '' if len(unknown) == 1 else 's',
                ', '.join(opt.name for opt in sev_conf.sev_opts)))
        return _result(
            FAILURE if bad else WARNING,
            '[sev_scheduler] %s. Fix %s in %s%s.' % (
                '; '.join(problems), 'it' if len(problems) == 1 else 'them',
                self._files(), ': nova-scheduler does not start with an '
                'invalid value' if bad else ''))

    def _bad_options(self):
        """What stops SEVFilter and SEVWeigher when nova-scheduler loads.

        Every option read, as conf.validate does (one by one here, to name
        each bad value), and the checks loaded.
        """
        from sev_scheduler import checks
        group = self.conf[sev_conf.sev_group.name]
        problems = []
        for opt in sev_conf.sev_opts:
            try:
                getattr(group, opt.dest)
            except ValueError as error:
                # oslo.config's message names the option and the file;
                # the value's own error says what is wrong.
                problems.append('%s: %s' % (opt.name,
                                            error.__context__ or error))
        if not any(problem.startswith('checks:') for problem in problems):
            try:
                checks.load(group.checks)
            except ValueError as error:
                problems.append(str(error).replace(
                    '[sev_scheduler] ', '', 1))
        return problems

    def _check_confidential_devices(self):
        from sev_scheduler import compat
        from sev_scheduler import confidential
        group = self.conf.sev_scheduler
        try:
            allowed = [name.strip() for name in group.snp_pci_aliases
                       if name.strip()]
            cc_traits = group.confidential_device_traits
        except ValueError:
            # The options check says what is wrong with them.
            return _result(SUCCESS, None)
        if not (allowed or cc_traits):
            return _result(SUCCESS, 'Not in use: encrypted guests get no '
                           'PCI device.')
        if not confidential.SUPPORTED:
            return _result(
                WARNING, 'Nova %s does not place amd-sev-snp guests '
                '(OpenStack %s and later do): [sev_scheduler] '
                'snp_pci_aliases and confidential_device_traits do nothing, '
                'and encrypted guests get no PCI device. Remove them, or '
                'keep them for the upgrade.' % (
                    version.version_string(),
                    compat.FIRST_RELEASE[confidential.MODEL]))
        if not allowed:
            return _result(WARNING, '[sev_scheduler] confidential_device_'
                           'traits is set but snp_pci_aliases is empty: '
                           'encrypted guests get no PCI device. List the '
                           'aliases of devices in CC mode in snp_pci_aliases.')
        pci_in_placement = self.conf.filter_scheduler.pci_in_placement
        aliases, error = confidential.read_aliases(self.conf.pci.alias,
                                                   pci_in_placement)
        problems = {}
        for name in allowed:
            problem = confidential.alias_problem(
                name, aliases, error, cc_traits, pci_in_placement)
            if problem:
                problems.setdefault(problem, []).append(name)
        if not problems:
            return _result(SUCCESS, 'amd-sev-snp guests may use the PCI '
                           'aliases %s, each requiring a trait of %s.' % (
                               ', '.join(allowed), ', '.join(cc_traits)))
        return _result(FAILURE, '%s. SEVFilter refuses amd-sev-snp requests '
                       'for %s until then.' % (
                           '; '.join(_confidential_fix(problem, names,
                                                       cc_traits, error)
                                     for problem, names in problems.items()),
                           'it' if sum(map(len, problems.values())) == 1
                           else 'them'))

    def _check_nova_release(self):
        result = nova_support(version.version_string())
        if result.code == SUCCESS:
            from sev_scheduler import compat
            result.details += ' SEVFilter places %s guests.' % ', '.join(
                compat.AMD_MODELS)
        return result

    def _config_files(self):
        """The files oslo.config read, in order."""
        files = list(self.conf.config_file or [])
        for directory in self.conf.config_dir or []:
            files.extend(sorted(glob.glob(os.path.join(directory, '*.conf'))))
        return [path for path in files if os.path.isfile(path)]

    def _files(self):
        return ', '.join(self._config_files()) or 'nova.conf'

    def _unknown_options(self):
        """[sev_scheduler] keys of the files that are no option of ours."""
        known = {opt.dest for opt in sev_conf.sev_opts}
        found = []
        for path in self._config_files():
            sections = {}
            # oslo.config's own parser, as it reads nova.conf.
            cfg.ConfigParser(path, sections).parse()
            for key in sections.get(sev_conf.sev_group.name, {}):
                if key not in known and key not in found:
                    found.append(key)
        return found

    _upgrade_checks = (
        ('SEVFilter available', _check_filter_available),
        ('SEVFilter enabled', _check_filter_enabled),
        ('SEVWeigher', _check_weigher),
        ('[sev_scheduler] options', _check_options),
        ('Nova release', _check_nova_release),
        ('Confidential devices', _check_confidential_devices),
    )


def main(argv=None):
    """``sev-scheduler-status [--config-file F] upgrade check [--json]``."""
    # Nova imports eventlet, which warns on every import: not the
    # operator's business.
    warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
    # The checks build Nova objects, as in nova-scheduler.
    objects.register_all()
    conf = cfg.ConfigOpts()
    nova.conf.scheduler.register_opts(conf)
    nova.conf.pci.register_opts(conf)
    sev_conf.register_opts(conf)
    # upgradecheck.main, with the exit statuses in the help, and a usage
    # error that is not argparse's 2 (a failure here).
    checks = Checks(conf)
    upgradecheck.register_cli_options(conf, checks)
    try:
        conf(args=sys.argv[1:] if argv is None else argv, project='nova',
             epilog=EPILOG)
    except SystemExit as error:
        if error.code == 2:
            return base.USAGE
        raise
    except cfg.Error as error:
        # A missing or unparsable file: nothing was checked.
        print('sev-scheduler-status: %s' % error, file=sys.stderr)
        return NOTHING_READ
    # upgradecheck's table reads --json from its own global, as its main
    # sets it.
    upgradecheck.CONF = conf
    return upgradecheck.run(conf)


if __name__ == '__main__':
    sys.exit(main())
