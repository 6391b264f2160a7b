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

"""Text for a terminal: control characters shown, never sent.

Image properties, server, flavor and host names come from users and
hypervisors: printed raw, an escape sequence in one would reach the
operator's terminal (retitle it, clear it, hide a line). Table and value
output show every control character (C0, DEL, C1) as ``\\xNN``, as Python's
repr does; JSON and YAML keep the exact value.
"""

import re

#: Unicode's control characters (category Cc): C0, DEL and C1.
_CONTROL = re.compile('[\x00-\x1f\x7f-\x9f]')

#: The formatters whose output keeps values exact; every other one is text.
EXACT_FORMATTERS = ('json', 'yaml')


def escape(text):
    """``text`` with each control character written as ``\\xNN``."""
    return _CONTROL.sub(lambda match: '\\x%02x' % ord(match.group()), text)


def for_text(value):
    """A value as table and value output show it.

    A string escaped; a list or tuple one escaped item per line (a newline
    inside an item is escaped too, so an item can never pass for two);
    anything else (numbers, None) unchanged.
    """
    if isinstance(value, str):
        return escape(value)
    if isinstance(value, (list, tuple)):
        return '\n'.join(escape(str(item)) for item in value)
    if isinstance(value, dict):
        return escape(str(value))
    return value
