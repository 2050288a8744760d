/**
 * Three pages of office text for the demo (an invoice, a memo, meeting
 * notes), eight lines each, in English with digits and punctuation; each
 * line fits a default {@link renderPages} page.
 */
export const defaultPages: string[][] = [
  [
    'INVOICE No. 2024-0187',
    'Date: 14 March 2024',
    'Bill to: Harbor Logistics Ltd.',
    '12 Dock Road, Portsmouth PO1 3AX',
    'Fleet telemetry, 40 units: $1,240.00',
    'Calibration (6 h at $85.00): $510.00',
    'Subtotal $1,750.00, VAT (20%) $350.00',
    'Total due: $2,100.00 by 13 April 2024'
  ],
  [
    'MEMO: Charging schedule for depot bays',
    'To: All depot staff; from: J. Alvarez',
    'From Monday, bays 3-7 charge overnight.',
    'Vans must be plugged in by 18:30 daily.',
    'Report faults to ext. 4471 or ops@depot.io',
    'Log mileage before 09:00 on Fridays.',
    'Questions? See the wiki page "Charging v2".',
    'Thank you for your cooperation.'
  ],
  [
    'Meeting notes - Q3 planning, 2 Sept 2024',
    'Present: A. Chen, R. Okafor, M. Silva',
    '1. Budget: approved at EUR 48,500 (+6%).',
    '2. Hiring: two data engineers by 30/11.',
    '3. Pilot: 25 vehicles join the mesh in Oct.',
    'Action: R. Okafor to draft the SLA (15/9).',
    'Action: M. Silva to book room B-204.',
    'Next meeting: Tuesday 10:00, room TBA.'
  ]
]
