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

"""devstack/plugin.sh, run by bash as stack.sh runs it, on a nova.conf here.

DevStack's functions the plugin calls are stubs that record their calls
(setup_develop, pip_install), or the stand-ins of data/ini-config (iniset
and its kin). With ``DEVSTACK_DIR`` set to a DevStack clone, DevStack's own
inc/ini-config is sourced instead.
"""

import os
import subprocess

from sev_scheduler.tests.unit.deploy import base

PLUGIN_DIR = os.path.join(base.REPO, 'devstack')

# DevStack's lib/nova writes [filter_scheduler] enabled_filters = $FILTERS.
DEVSTACK_FILTERS = ('ComputeFilter,ComputeCapabilitiesFilter,'
                    'ImagePropertiesFilter,ServerGroupAntiAffinityFilter,'
                    'ServerGroupAffinityFilter,SameHostFilter,'
                    'DifferentHostFilter')
DEVSTACK_NOVA_CONF = """[DEFAULT]
debug = True

[filter_scheduler]
enabled_filters = %s
""" % DEVSTACK_FILTERS

# stack.sh's environment, as far as the plugin uses it (stack.sh runs with
# errexit, not nounset: DevStack's own ini functions read unset variables).
HARNESS = r"""
set -o errexit
source "$INI_CONFIG"
function is_service_enabled {
    local service
    for service in "$@"; do
        [[ ,$ENABLED_SERVICES, == *,$service,* ]] && return 0
    done
    return 1
}
function trueorfalse {
    local default=$1 value=${!2:-$1}
    case ${value,,} in
        1|yes|true|on) echo True ;;
        0|no|false|off) echo False ;;
        *) echo "$default" ;;
    esac
}
function echo_summary { echo "summary: $*"; }
function setup_develop { echo "setup_develop $*" >> "$CALLS"; }
function pip_install { echo "pip_install $*" >> "$CALLS"; }
source "$PLUGIN_DIR/settings"
for phase in $PHASES; do
    source "$PLUGIN_DIR/plugin.sh" stack "$phase"
done
"""


class PluginTestCase(base.DeployTestCase):

    def stack(self, nova_conf, phases='install post-config',
              services='n-api,n-cond,n-sch,placement-api', **settings):
        """Run the plugin's PHASES; return (nova.conf text, calls)."""
        conf_path = self.write('nova.conf', nova_conf)
        calls = os.path.join(self.dir, 'calls')
        devstack = os.environ.get('DEVSTACK_DIR')
        env = dict(
            PATH=os.environ['PATH'], HOME=self.dir,
            INI_CONFIG=(os.path.join(devstack, 'inc', 'ini-config')
                        if devstack else os.path.join(base.DATA,
                                                      'ini-config')),
            PLUGIN_DIR=PLUGIN_DIR, CALLS=calls, PHASES=phases,
            ENABLED_SERVICES=services, DEST='/opt/stack',
            NOVA_CONF=conf_path, **settings)
        process = subprocess.run(['bash', '-c', HARNESS], env=env,
                                 cwd=self.dir, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
        self.assertEqual(0, process.returncode, process.stdout)
        with open(conf_path) as conf:
            text = conf.read()
        recorded = []
        if os.path.exists(calls):
            with open(calls) as lines:
                recorded = lines.read().splitlines()
        return conf_path, text, recorded

    def test_install_setup_develop_from_clone_passes(self):
        _, text, calls = self.stack(DEVSTACK_NOVA_CONF, phases='install')
        self.assertEqual(['setup_develop /opt/stack/sev-scheduler'], calls)
        # Configuring waits for post-config.
        self.assertEqual(DEVSTACK_NOVA_CONF, text)

    def test_post_config_devstack_nova_conf_upgrade_check_passes(self):
        path, _, calls = self.stack(DEVSTACK_NOVA_CONF)
        self.assertEqual(['setup_develop /opt/stack/sev-scheduler'], calls)
        self.upgrade_check(path)
        conf = base.read_conf(path)
        self.assertEqual(base.FILTERS,
                         conf.filter_scheduler.available_filters)
        # DevStack's filters kept, SEVFilter last.
        self.assertEqual(DEVSTACK_FILTERS.split(',') + ['SEVFilter'],
                         conf.filter_scheduler.enabled_filters)
        self.assertEqual(base.WEIGHERS, conf.filter_scheduler.weight_classes)

    def test_post_config_empty_nova_conf_upgrade_check_passes(self):
        path, _, _ = self.stack('[DEFAULT]\ndebug = True\n')
        self.upgrade_check(path)
        self.assert_scheduler_options(path)

    def test_post_config_twice_same_nova_conf_passes(self):
        path, once, _ = self.stack(DEVSTACK_NOVA_CONF)
        _, twice, _ = self.stack(once, phases='post-config')
        self.assertEqual(once, twice)

    def test_post_config_other_available_filter_kept_passes(self):
        path, _, _ = self.stack(
            DEVSTACK_NOVA_CONF + 'available_filters = '
            'nova.scheduler.filters.all_filters\n'
            'available_filters = nova.tests.SomeFilter\n',
            phases='post-config')
        self.assertEqual(['nova.scheduler.filters.all_filters',
                          'nova.tests.SomeFilter',
                          'sev_scheduler.filters.SEVFilter'],
                         base.read_conf(path).filter_scheduler
                         .available_filters)

    def test_post_config_settings_set_options_passes(self):
        path, _, _ = self.stack(
            DEVSTACK_NOVA_CONF, SEV_SCHEDULER_ISOLATE_SEV_HOSTS='True',
            SEV_SCHEDULER_MAX_GUESTS_PER_HOST='8',
            SEV_SCHEDULER_WEIGHT_MULTIPLIER='2.5')
        self.upgrade_check(path)
        group = base.read_conf(path).sev_scheduler
        self.assertEqual((True, 8, 2.5, -10.0), (
            group.isolate_sev_hosts, group.max_guests_per_host,
            group.weight_multiplier, group.plain_on_sev_weight_multiplier))

    def test_post_config_weigher_disabled_passes(self):
        path, text, _ = self.stack(DEVSTACK_NOVA_CONF,
                                   SEV_SCHEDULER_ENABLE_WEIGHER='False')
        self.assertNotIn('weight_classes', text)
        self.assertNotIn('[sev_scheduler]', text)

    def test_no_scheduler_here_nothing_passes(self):
        _, text, calls = self.stack(DEVSTACK_NOVA_CONF,
                                    services='n-cpu,placement-client')
        self.assertEqual([], calls)
        self.assertEqual(DEVSTACK_NOVA_CONF, text)
