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

"""deploy/kolla-ansible: the nova-scheduler.conf override, the image."""

import collections
import io
import os

import jinja2
import jinja2.sandbox
from oslo_config import cfg
from oslo_config import iniparser

from sev_scheduler.tests.unit.deploy import base

KOLLA = os.path.join(base.DEPLOY, 'kolla-ansible')

# What Kolla-Ansible's nova.conf.j2 renders to, cut to what matters here:
# its [filter_scheduler] is empty unless Blazar (or the fake driver) is
# enabled.
BASE = """[DEFAULT]
debug = False
transport_url = rabbit://openstack:secret@192.0.2.10:5672//

[filter_scheduler]

[scheduler]
max_attempts = 10
discover_hosts_in_cells_interval = -1
workers = 5
"""
BASE_BLAZAR = BASE.replace("""[filter_scheduler]
""", """[filter_scheduler]
available_filters = nova.scheduler.filters.all_filters
available_filters = blazarnova.scheduler.filters.blazar_filter.BlazarFilter
enabled_filters = ComputeFilter,ComputeCapabilitiesFilter,\
ImagePropertiesFilter,ServerGroupAntiAffinityFilter,\
ServerGroupAffinityFilter,BlazarFilter
""")


class MergedConfig(iniparser.BaseParser):
    """Kolla-Ansible's ``merge_configs`` (ansible/action_plugins), here.

    Over oslo.config's ini parser, as there: within one file a repeated
    key collects every value; a key in a later file replaces the key of
    the files before it; sections keep the order they first appear in;
    written back as ``key = value``, one line per value.
    """

    def __init__(self):
        super().__init__()
        self.sections = collections.OrderedDict()
        self._file = None
        self._section = None

    def read(self, text):
        self._file = collections.OrderedDict()
        self._section = None
        self.parse(io.StringIO(text))
        for name, keys in self._file.items():
            self.sections.setdefault(name, collections.OrderedDict()).update(
                keys)

    def new_section(self, section):
        self._section = self._file.setdefault(section,
                                              collections.OrderedDict())

    def assignment(self, key, value):
        if self._section is None:
            self.new_section('TEMPORARY_ORPHAN_VARIABLE_SECTION')
        if value == ['']:
            value = []
        self._section.setdefault(key, []).append(value)

    def parse_exc(self, msg, lineno, line=None):
        return cfg.ParseError(msg, lineno, line, '<merged>')

    def text(self):
        lines = []
        for name, keys in self.sections.items():
            lines.append('[%s]' % name)
            for key, values in keys.items():
                for value in values:
                    if not value:
                        lines.append('%s =' % key)
                    for index, part in enumerate(value):
                        lines.append(('%s = %s' % (key, part)) if index == 0
                                     else ' ' * (len(key) + 3) + part)
            lines.append('')
        return '\n'.join(lines) + '\n'


def _read(name):
    with open(os.path.join(KOLLA, name)) as recipe:
        return recipe.read()


class OverrideTestCase(base.DeployTestCase):

    def merged(self, base_text):
        """The nova-scheduler container's nova.conf, merged.

        As ansible/roles/nova/tasks/config.yml merges it: nova.conf.j2,
        then global.conf, nova.conf (absent here), then
        /etc/kolla/config/nova/nova-scheduler.conf.
        """
        config = MergedConfig()
        config.read(base_text)
        config.read(_read('nova-scheduler.conf'))
        return self.write('nova.conf', config.text())

    def test_override_merged_upgrade_check_passes(self):
        path = self.merged(BASE)
        self.upgrade_check(path)
        conf = self.assert_scheduler_options(path)
        self.assertEqual(5, conf.scheduler.workers)

    def test_override_replaces_blazar_filters_passes(self):
        # A key of the override replaces Kolla's whole key: what the
        # recipe's comment tells Blazar users.
        path = self.merged(BASE_BLAZAR)
        self.upgrade_check(path)
        self.assert_scheduler_options(path)

    def test_merge_repeated_key_passes(self):
        config = MergedConfig()
        config.read('[s]\na = 1\nb = x\n')
        config.read('[s]\nb = y\nb = z\n[t]\nc =\n')
        self.assertEqual('[s]\na = 1\nb = y\nb = z\n\n[t]\nc =\n\n',
                         config.text())


# kolla's docker/nova/nova-scheduler/Dockerfile.j2 as it is laid out (at
# openstack/kolla 5d77668da8167435e4ac860392994f19ec733a46), its lines
# reduced to the blocks, the macros import, and the USER line, with a
# macros.j2 whose install_pip writes the command kolla's writes.
PARENT = """FROM {{ namespace }}/{{ image_prefix }}nova-base:{{ tag }}
{% block labels %}
LABEL name="{{ image_name }}"
{% endblock %}

{% block nova_scheduler_header %}{% endblock %}

{% import "macros.j2" as macros with context %}

{% block nova_scheduler_footer %}{% endblock %}
{% block footer %}{% endblock %}

USER nova
"""
MACROS = """{% macro install_pip(packages, constraints=true) -%}
python3 -m pip --no-cache-dir install --upgrade \
{% if constraints %}-c /requirements/upper-constraints.txt {% endif -%}
{{ packages | join(' ') }}
{%- endmacro %}
"""


class TemplateOverrideTestCase(base.DeployTestCase):

    def render(self):
        """The nova-scheduler Dockerfile, rendered with the override.

        As kolla-build renders it with ``--template-override``
        (kolla/image/kolla_worker.py): the parent from its own loader, the
        override in a sandbox that is given it as ``parent_template``.
        """
        parent = jinja2.Environment(loader=jinja2.DictLoader(
            {'Dockerfile.j2': PARENT, 'macros.j2': MACROS})).get_template(
                'Dockerfile.j2')
        override = jinja2.sandbox.SandboxedEnvironment(
            loader=jinja2.DictLoader(
                {'template-overrides.j2': _read('template-overrides.j2')}))
        return override.get_template('template-overrides.j2').render(
            parent_template=parent, namespace='kolla', image_prefix='',
            tag='2026.1', image_name='nova-scheduler')

    def test_template_override_footer_installs_plugin_passes(self):
        lines = [line for line in self.render().splitlines() if line]
        footer = lines.index('ADD plugins-archive /')
        self.assertEqual(
            'RUN python3 -m pip --no-cache-dir install --upgrade '
            '-c /requirements/upper-constraints.txt /plugins/*',
            lines[footer + 1])
        # Installed as root, before the image switches to nova.
        self.assertEqual('USER nova', lines[-1])
        self.assertLess(footer, lines.index('USER nova'))

    def test_kolla_build_conf_plugin_section_passes(self):
        # kolla-build gives an image the sources of the sections named
        # <image>-plugin-<name> (kolla/image/kolla_worker.py).
        sections = {}
        cfg.ConfigParser(os.path.join(KOLLA, 'kolla-build.conf'),
                         sections).parse()
        self.assertEqual(['nova-scheduler-plugin-sev-scheduler'],
                         list(sections))
        self.assertEqual(['local'], sections[
            'nova-scheduler-plugin-sev-scheduler']['type'])
