# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Sphinx configuration of the release notes (tox -e releasenotes)."""

# -- General configuration ---------------------------------------------------

extensions = [
    'openstackdocstheme',
    'reno.sphinxext',
]

master_doc = 'index'

project = 'sev-scheduler Release Notes'
copyright = 'sev-scheduler developers'

# Release notes are not versioned: each page lists the versions it covers.
version = ''
release = ''

exclude_patterns = []

pygments_style = 'native'

# -- openstackdocstheme ------------------------------------------------------

html_theme = 'openstackdocs'

# The project has no public repository yet: no "edit" or bug links.
openstackdocs_auto_name = False
openstackdocs_use_storyboard = False

# -- Internationalization ----------------------------------------------------

locale_dirs = ['locale/']
