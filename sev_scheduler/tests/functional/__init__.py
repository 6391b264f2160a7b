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

# Nova's functional package first, before any test module imports Nova's
# fixtures: it applies eventlet's monkey patching, which must precede the
# import of oslo.db, oslo.context and urllib3 as it does in Nova's own
# functional tests. Imported later, oslo.db keeps one transaction per OS
# thread instead of per greenthread: the in-process services' greenthreads
# then share transactions, and under load one fails with "Can't upgrade a
# READER transaction to a WRITER mid-transaction".
import nova.tests.functional  # noqa
