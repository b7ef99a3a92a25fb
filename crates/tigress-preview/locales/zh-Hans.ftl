# 共享钥匙的预览页面（简体中文）。

shared-with-you = 有人与你共享了一把钥匙
kind-label = 钥匙类型
kind-car = 车钥匙
kind-home = 家门钥匙
kind-access = 门禁钥匙（门、房间、储物柜等）
expires-label = 到期时间
expires-at = { $date } UTC
expires-in-minutes = { $count } 分钟后
expires-in-hours = { $count } 小时后
expires-in-days = { $count } 天后
details-link = 查看发送者提供的详情
next-heading = 接下来
next-phone = 请在存放钥匙的手机上，从收到此链接的消息中打开它，钱包应用会完成其余步骤。
next-phone-app = 请用 { $app } 打开此链接：在存放钥匙的手机上，点按收到此链接的消息中的链接。
get-app = 还没有 { $app }？请先安装，然后再次点按链接：
get-wallet-app = 还没有钱包应用？请先安装，然后再次点按链接：
store-apple = App Store
store-google = Google Play
next-desktop = 请在手机上打开此链接：钥匙需要在存放钥匙的手机上的钱包应用中接收，而不是在浏览器中。
relay-blind = 传递这把钥匙的服务器只能看到加密后的数据：它无法读取或使用这把钥匙。只有打开完整链接的设备才能。
