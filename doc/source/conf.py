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

"""The sev-scheduler docs site: ``tox -e docs``, doc/build/html.

The configuration and CLI references are generated from the code (the
``oslo.config.opts`` and cliff entry points in setup.cfg), so a page that
names an option or a command that does not exist fails the build: options
through ``:oslo.config:option:``, commands' options through ``:option:``.
"""

from importlib import metadata
import logging

from sphinx.util import logging as sphinx_logging

extensions = [
    'openstackdocstheme',
    'oslo_config.sphinxext',
    'oslo_config.sphinxconfiggen',
    'cliff.sphinxext',
]

# oslo_config.sphinxconfiggen: the sample nova.conf section, written at
# build time into doc/source/_static (not kept in git), from the same
# generator file as tox -e genconfig.
config_generator_config_file = (
    '../../etc/sev-scheduler/sev-scheduler-config-generator.conf')
sample_config_basename = '_static/sev-scheduler'

# cliff.sphinxext: what the openstack client adds to every command is
# documented by the openstack client itself.
autoprogram_cliff_app_dist_name = 'sev-scheduler'

# openstackdocstheme
openstackdocs_repo_name = 'openstack/sev-scheduler'
openstackdocs_bug_project = 'sev-scheduler'
openstackdocs_bug_tag = 'docs'
openstackdocs_pdf_link = False
openstackdocs_auto_name = False
# The version comes from the installed package (pbr wrote it when tox
# installed the checkout), not from git at build time.
openstackdocs_auto_version = False

project = 'sev-scheduler'
copyright = 'sev-scheduler developers'
try:
    release = metadata.version('sev-scheduler')
except metadata.PackageNotFoundError:
    release = ''
version = release

source_suffix = {'.rst': 'restructuredtext'}
master_doc = 'index'
exclude_patterns = ['_build']
pygments_style = 'native'

html_theme = 'openstackdocs'
html_static_path = ['_static']
html_title = 'sev-scheduler'


# Pages others write join the tree by glob when they land: the deployment
# recipes (install/deploy-*) and the demo (admin/demo*). Until then those
# two patterns match nothing, which is not an error; every other warning,
# an empty glob anywhere else included, fails the build.
LATER_PAGES = ('deploy-*', 'demo*')


class _LaterPages(logging.Filter):
    def filter(self, record):
        return not (record.msg.startswith('toctree glob pattern')
                    and record.args and record.args[0] in LATER_PAGES)


def setup(app):
    sphinx_logging.getLogger('sphinx.directives.other').logger.addFilter(
        _LaterPages())
