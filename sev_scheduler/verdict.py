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

"""Why a request can never be scheduled, in words a user understands.

Shared by SEVFilter and ``sev-scheduler check-request``, so that the
offline answer is the filter's own.
"""

import collections
import re

from nova import exception

from sev_scheduler.i18n import _

#: What Nova keeps of a fault's message (bytes of the instance_faults
#: column, on every supported release). The whole reason still reaches the
#: fault's details, which admins see, and the scheduler's log.
FAULT_MESSAGE_BYTES = 255
_FAULT_PREFIX = exception.NoValidHost(reason='').format_message()


def _invalid_template():
    return _("Invalid memory encryption request: %s")


def _conflict_template(model):
    """The subject of a conflict reason; "%s" stands for the model."""
    if model:
        return _("Memory encryption (%s) cannot be used with ")
    return _("Memory encryption cannot be used with ")


def invalid_reason(request):
    """Why the encryption request cannot be honoured as written, or None."""
    if request.encryption.error:
        return _invalid_template() % request.encryption.error
    return None


def conflict_reason(request, checks):
    """What the request combines memory encryption with, or None.

    :param checks: the loaded request checks, see ``sev_scheduler.checks``.
    """
    if not request.encryption.requested:
        return None
    conflicts = [conflict for check in checks
                 for conflict in check.conflicts(request)]
    if not conflicts:
        return None
    model = request.encryption.model
    subject = _conflict_template(model)
    return fitting_reason(subject % model if model else subject, conflicts)


def fault_reason(message):
    """The request-level reason a server's fault holds, or None.

    SEVFilter's refusal is the fault "No valid host was found. <reason>"
    (``NoValidHost``, cut by Nova at 255 bytes): the reason is known by
    how ``invalid_reason`` and ``conflict_reason`` begin it, in this
    process's language. A fault without a reason (Placement had no
    candidate) or with another one is not the filter's: None.
    """
    if not message or not message.startswith(_FAULT_PREFIX):
        return None
    reason = message[len(_FAULT_PREFIX):]
    templates = (_invalid_template(), _conflict_template(True),
                 _conflict_template(None))
    if any(re.match(re.escape(template).replace('%s', '.+?'), reason)
           for template in templates):
        return reason
    return None


def _fits(reason):
    return (len((_FAULT_PREFIX + reason).encode('utf-8')) <=
            FAULT_MESSAGE_BYTES)


def _headline(conflict):
    """What a conflict is, without which device says so.

    "PCI passthrough: flavor alias 'gpu'" -> "PCI passthrough";
    "boot disk bus 'usb' (image property hw_disk_bus)" -> "boot disk bus
    'usb'".
    """
    return conflict.split(':', 1)[0].split(' (', 1)[0].strip()


def fitting_reason(subject, conflicts):
    """``subject`` and every conflict, named within the fault's message.

    Nova cuts a fault's message at 255 bytes: when the whole list does not
    fit, a summary naming every kind of conflict comes first (how many of
    each), and the whole list after it, as "Details: ...".
    """
    reason = subject + '; '.join(conflicts)
    if _fits(reason):
        return reason
    counts = collections.Counter(_headline(c) for c in conflicts)
    headlines = ['%s (%d)' % (h, n) if n > 1 else h
                 for h, n in counts.items()]
    budget = (FAULT_MESSAGE_BYTES - len(_FAULT_PREFIX + subject) -
              len('. Details: '))
    if len(', '.join(headlines)) > budget:
        # Even the kinds are too long: an equal share for each.
        width = max(budget // len(headlines) - 5, 8)
        headlines = [h if len(h) <= width else h[:width - 3] + '...'
                     for h in headlines]
    return '%s%s. Details: %s' % (subject, ', '.join(headlines),
                                  '; '.join(conflicts))
