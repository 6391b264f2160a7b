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

"""Translation of what users read, as Nova's ``nova.i18n`` does.

Only what reaches a user is wrapped: the reasons of a server's fault.
Log messages are not translated (OpenStack's practice since Liberty).
"""

import oslo_i18n

DOMAIN = 'sev_scheduler'

_translators = oslo_i18n.TranslatorFactory(domain=DOMAIN)

# The primary translation function, as ``_``.
_ = _translators.primary
